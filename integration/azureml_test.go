package integration

import (
	"os"
	"strings"
	"testing"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/testdata"
)

// A curated environment's template (azureml-assets' sklearn-1.5) built as
// it is: the frontend refuses each {{latest-pypi-version}} at its line of
// the conda file, saying what it is, before fetching anything.
func TestAzureMLTemplateThroughFrontend(t *testing.T) {
	e := harness.Get(t)
	conda, err := os.ReadFile(testdata.Path(t, "azureml", "azureml-assets-curated", "sklearn-1.5", "context", "conda_dependencies.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := newProject(t, "environment.yml", syntax(t, e)+"name: sklearn-copy\nimage: "+e.Base.Base+"\nconda_file: conda_dependencies.yaml\n",
		map[string]string{"conda_dependencies.yaml": string(conda)})
	out, err := clients[1].build(t, e, p, e.Ref("it/azureml-template:1"), nil)
	if err == nil {
		t.Fatalf("built a template\n%s", out)
	}
	for _, want := range []string{
		"{{latest-pypi-version}} is an Azure ML asset template placeholder",
		"scikit-learn-intelex==1.2.3",
		">>>   - scikit-learn-intelex=={{latest-pypi-version}}",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}
