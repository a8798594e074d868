package config_test

import (
	"testing"

	"github.com/sqlflow/sqlflow-host/host/config"
)

func TestConfigJSONKeepsFileOrder(t *testing.T) {
	p, err := config.Parse("p.yaml", []byte(`version: 1
sources:
  a:
    type: memory
    zeta: 1
    rows:
      - {zulu: 1, alpha: x, mike: null}
    alpha: {z: 1, a: [2, {y: 1, b: 2}]}
destinations:
  b: {type: memory}
flows:
  - {from: a, to: b, target: t}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Sources["a"].ConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"zeta":1,"rows":[{"zulu":1,"alpha":"x","mike":null}],"alpha":{"z":1,"a":[2,{"y":1,"b":2}]}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
