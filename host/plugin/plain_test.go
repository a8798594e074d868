package plugin_test

import "testing"

// TestPlaintextPluginGetsAHint: a plugin that does the handshake but
// serves plain gRPC, ignoring PLUGIN_CLIENT_CERT (what go-plugin's own
// Python example does), is refused at start with what is missing and
// where the protocol is written down, not with a bare TLS error at its
// first call.
func TestPlaintextPluginGetsAHint(t *testing.T) {
	dir := pluginsDir(t)
	build(t, dir.Path, "plainplugin", "plain")
	p, err := start(t, dir, "plain")
	if err == nil {
		p.Kill()
		t.Fatal("a plugin serving plain gRPC started")
	}
	wantErr(t, err, "start plugin plain", "serves plain gRPC", "PLUGIN_CLIENT_CERT", "sixth field", "Plugins in other languages")
}
