package proctree_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/bench/peers/proctree"
)

// A shell that runs a busy child and waits for it: the child's CPU must be
// counted, and the shell's own must not include it. The child does a fixed
// amount of work, so a loaded machine only makes it slower.
func TestRunCountsReapedChildren(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.Command("sh", "-c", `sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'; true`)
	u, err := proctree.Run(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if u.ReapedCPU < 0.05 || u.CPU < u.ReapedCPU {
		t.Errorf("a busy child: reaped %.2f s, total %.2f s", u.ReapedCPU, u.CPU)
	}
	if u.SelfCPU > u.ReapedCPU/2 {
		t.Errorf("the waiting shell used %.2f s itself, its child %.2f s", u.SelfCPU, u.ReapedCPU)
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

func TestTreeCPU(t *testing.T) {
	if proctree.TreeCPU(os.Getpid()) <= 0 {
		t.Error("this process has used no CPU?")
	}
	if proctree.TreeCPU(1<<30) != 0 {
		t.Error("a pid that does not exist must give 0")
	}
}
