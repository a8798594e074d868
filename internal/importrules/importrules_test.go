package importrules

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const (
	module = "github.com/sqlflow/sqlflow-host"
	sdkMod = module + "/sdk"
	proto  = sdkMod + "/proto/sqlflow/connector/v1"
	goPlug = "github.com/hashicorp/go-plugin"
)

// imports lists every package of the host's module and of the SDK module
// with its non-test imports, from `go list`.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...", sdkMod+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			pkgs[f[0]] = f[1:]
		}
	}
	return pkgs
}

// under reports whether package p is dir or below it (dir relative to the
// host's module).
func under(p, dir string) bool {
	d := module + "/" + dir
	return p == d || strings.HasPrefix(p, d+"/")
}

func TestImportRules(t *testing.T) {
	pkgs := imports(t)
	for _, want := range []string{module + "/host/plugin", module + "/plugins/csv", sdkMod, sdkMod + "/sdktest"} {
		if _, ok := pkgs[want]; !ok {
			t.Fatalf("go list did not list %s: the rules below would check nothing", want)
		}
	}
	goPluginOK := []string{sdkMod, sdkMod + "/protocol", sdkMod + "/sdktest", module + "/host/plugin"}
	protoOK := []string{sdkMod, sdkMod + "/protocol", sdkMod + "/rpcclient"}
	for p, imps := range pkgs {
		inSDK := p == sdkMod || strings.HasPrefix(p, sdkMod+"/")
		plugin := ""
		if under(p, "plugins") {
			rest := strings.TrimPrefix(p, module+"/plugins/")
			plugin, _, _ = strings.Cut(rest, "/")
		}
		for _, imp := range imps {
			ours := strings.HasPrefix(imp, module+"/")
			impSDK := imp == sdkMod || strings.HasPrefix(imp, sdkMod+"/")
			switch {
			case (under(p, "host") || under(p, "cmd")) && under(imp, "plugins"):
				t.Errorf("%s imports %s: the host never imports a plugin", p, imp)
			case plugin != "" && ours && !impSDK && !under(imp, "plugins/"+plugin):
				t.Errorf("%s imports %s: a plugin imports only the SDK module and its own packages", p, imp)
			case inSDK && ours && !impSDK:
				t.Errorf("%s imports %s: the SDK module imports nothing of the host's module", p, imp)
			case imp == goPlug && !slices.Contains(goPluginOK, p):
				t.Errorf("%s imports go-plugin: only %v may", p, goPluginOK)
			case imp == proto && !slices.Contains(protoOK, p):
				t.Errorf("%s imports the generated protocol package: only %v may", p, protoOK)
			}
		}
	}
}
