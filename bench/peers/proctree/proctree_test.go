package proctree_test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/bench/peers/proctree"
)

// A shell that runs a busy child and waits for it: the child's CPU must be
// counted, and the shell's own must not include it.
func TestRunCountsReapedChildren(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.Command("sh", "-c", `timeout 1 sh -c 'while :; do :; done'; true`)
	u, err := proctree.Run(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if u.ReapedCPU < 0.3 || u.CPU < 0.3 {
		t.Errorf("a busy child of about 1 s: reaped %.2f s, total %.2f s", u.ReapedCPU, u.CPU)
	}
	if u.SelfCPU > 0.2 {
		t.Errorf("the waiting shell used %.2f s itself", u.SelfCPU)
	}
	if u.Unreaped() {
		t.Errorf("sampled %.2f s > reaped %.2f s", u.SampledCPU, u.ReapedCPU)
	}
	if u.PeakRSS <= 0 {
		t.Errorf("no peak RSS")
	}
}

func TestRunFailure(t *testing.T) {
	_, err := proctree.Run(context.Background(), exec.Command("sh", "-c", "echo boom >&2; exit 3"))
	if err == nil {
		t.Fatal("want an error")
	}
}
