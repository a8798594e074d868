package restconn

import (
	"net/http"
	"strings"
	"testing"
)

// TestDigestRFC7616Example checks the responses of RFC 7616 §3.9.1.
func TestDigestRFC7616Example(t *testing.T) {
	for _, tt := range []struct{ alg, want string }{
		{"MD5", "8ca523f5e9506fed4657c9700eebdbec"},
		{"SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	} {
		ch := &digestChallenge{realm: "http-auth@example.org", nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
			opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", algorithm: tt.alg, qop: "auth"}
		got := digestResponse(ch, "Mufasa", "Circle of Life", "GET", "/dir/index.html", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", 1)
		if !strings.Contains(got, `response="`+tt.want+`"`) || !strings.Contains(got, "nc=00000001") || !strings.Contains(got, `opaque="FQhe`) {
			t.Errorf("%s: %s", tt.alg, got)
		}
	}
}

func TestDigestPicksStrongestChallenge(t *testing.T) {
	h := http.Header{}
	h.Add("WWW-Authenticate", `Digest realm="r", qop="auth,auth-int", algorithm=MD5, nonce="n1", opaque="o"`)
	h.Add("WWW-Authenticate", `Digest realm="r", qop="auth, auth-int", algorithm=SHA-256, nonce="n2", opaque="o", Basic realm="b"`)
	d := &digestAuth{username: "u", password: "p"}
	if _, ok := d.setChallenge(h); !ok || d.ch.algorithm != "SHA-256" || d.ch.nonce != "n2" || d.ch.qop != "auth" {
		t.Fatalf("%+v", d.ch)
	}
	h = http.Header{"Www-Authenticate": {`Basic realm="x"`}}
	if _, ok := (&digestAuth{}).setChallenge(h); ok {
		t.Fatal("a Basic challenge taken for Digest")
	}
}

func TestParseChallenges(t *testing.T) {
	got := parseChallenges([]string{`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`})
	if len(got) != 2 || got[0].scheme != "Newauth" || got[0].params["title"] != `Login to "apps"` || got[0].params["type"] != "1" ||
		got[1].scheme != "Basic" || got[1].params["realm"] != "simple" {
		t.Fatalf("%+v", got)
	}
}
