package record

import (
	"encoding/json"
	"testing"
)

// A RepoDataRecord survives a JSON round trip with its location fields (the
// frontend hands records to the link helper as JSON).
func TestRepoDataRecordJSON(t *testing.T) {
	in := `{"name":"tool","version":"2.0","build":"0","build_number":1,"depends":["a"],"timestamp":1700000000,"fn":"tool-2.0-0.conda","url":"http://x/linux-64/tool-2.0-0.conda","channel":"http://x"}`
	var r RepoDataRecord
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if r.FileName != "tool-2.0-0.conda" || r.URL != "http://x/linux-64/tool-2.0-0.conda" || r.Channel != "http://x" || r.Name != "tool" || r.BuildNumber != 1 {
		t.Fatalf("%+v", r)
	}
	if r.Timestamp != 1700000000000 {
		t.Errorf("timestamp in seconds not normalised: %d", r.Timestamp)
	}
	out, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	var back RepoDataRecord
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if back.URL != r.URL || back.FileName != r.FileName || back.Version.String() != "2.0" {
		t.Errorf("round trip: %+v", back)
	}
}
