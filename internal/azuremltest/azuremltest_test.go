package azuremltest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/envfile"
)

func TestCandidates(t *testing.T) {
	for _, c := range []struct{ lits, want []string }{
		{[]string{"1.22"}, []string{"1.21.0", "1.22.0", "1.22.1", "1.23.0", "2.0.0"}},
		{[]string{"0.0.46"}, []string{"0.0.46", "0.0.47", "0.1.0", "1.0.0"}},
		{[]string{"2.0", "1.0"}, []string{"0.0.0", "1.0.0", "1.0.1", "1.1.0", "2.0.0", "2.0.1", "2.1.0", "3.0.0"}},
		{nil, []string{"1.0.0", "1.1.0", "2.0.0"}},
	} {
		if got := candidates(c.lits); !slices.Equal(got, c.want) {
			t.Errorf("candidates(%q) = %q, want %q", c.lits, got, c.want)
		}
	}
}

// A mirror holds the pins and newer versions, platform wheels for the
// channel's pythons, the dependencies of what the file names; Newest skips
// the release that wants Python 3.13; Rewrite keeps comments.
func TestWriteAndRewrite(t *testing.T) {
	conda := "name: x\nchannels:\n  - conda-forge # the channel\ndependencies:\n  - python=3.8\n  - pip=21.2.4\n  - pip:\n    # pinned\n    - pandas==1.3.0\n    - azureml-core=={{latest-pypi-version}}\n"
	ef, err := envfile.Parse("conda.yml", []byte(conda))
	if err != nil {
		t.Fatal(err)
	}
	specs, lines, err := Lines(ef, nil)
	if err != nil || !slices.Equal(specs, []string{"python=3.8", "pip=21.2.4"}) || !slices.Equal(lines, []string{"pandas==1.3.0", "azureml-core"}) {
		t.Fatalf("Lines: %q %q %v", specs, lines, err)
	}
	ch, ix := t.TempDir(), t.TempDir()
	m, err := Write(ch, ix, specs, lines)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Pythons, []string{"3.8", "3.12"}) || !slices.Contains(m.Conda["pip"], "21.2.4") || !slices.Equal(m.Conda["python"], []string{"3.8.1", "3.8.12", "3.12.1", "3.12.12"}) {
		t.Errorf("conda: %v %v", m.Pythons, m.Conda)
	}
	if vs := m.Projects["pandas"]; !slices.Contains(vs, "1.3.0") || vs[len(vs)-1] != "3.0.0" || m.Newest("Pandas", "3.8") != "2.0.0" || m.Newest("pandas", "3.13") != "3.0.0" {
		t.Errorf("pandas: %v, newest %s", vs, m.Newest("pandas", "3.8"))
	}
	for _, dep := range []string{"numpy", "python-dateutil", "six", "pytz", "msrest", "ruamel-yaml", "pysocks"} {
		if len(m.Projects[dep]) == 0 {
			t.Errorf("no %s on the index", dep)
		}
	}
	for _, f := range []string{"pandas-1.3.0-cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "pandas-1.3.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"pandas-3.0.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "pandas-1.3.0.tar.gz", "six-1.5.0-py3-none-any.whl"} {
		if _, err := os.Stat(filepath.Join(ix, "_files", f)); err != nil {
			t.Error(err)
		}
	}
	page, err := os.ReadFile(filepath.Join(ix, "pandas", "index.html"))
	if err != nil || !strings.Contains(string(page), `data-requires-python="&gt;=3.13"`) {
		t.Errorf("pandas page: %v\n%s", err, page)
	}
	if got := m.Substitute("  - azureml-core=={{latest-pypi-version}}\n", "3.8"); got != "  - azureml-core=="+m.Newest("azureml-core", "3.8")+"\n" {
		t.Errorf("Substitute: %q", got)
	}
	out, err := Rewrite([]byte(conda), "/mirror/channel", "http://127.0.0.1:1/")
	if err != nil {
		t.Fatal(err)
	}
	ef, err = envfile.Parse("conda.yml", out)
	if err != nil || !slices.Equal(envfile.Values(ef.Channels), []string{"/mirror/channel"}) || envfile.Values(ef.Pip)[0] != "--index-url http://127.0.0.1:1/" || len(ef.Pip) != 3 ||
		!strings.Contains(string(out), "# pinned") {
		t.Errorf("Rewrite: %v\n%s", err, out)
	}
	inline := "image: x\nconda_file:\n  channels: [conda-forge]\n  dependencies: [python, {pip: [numpy]}]\n"
	if out, err := Rewrite([]byte(inline), "/c", "http://i/"); err != nil || !strings.Contains(string(out), "[/c]") || !strings.Contains(string(out), "--index-url http://i/") {
		t.Errorf("Rewrite inline: %v\n%s", err, out)
	}
}
