package procstat_test

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/sqlflow/sqlflow-host/internal/procstat"
)

func TestPeakRSSAndTree(t *testing.T) {
	hwm, err := procstat.PeakRSS(os.Getpid())
	if errors.Is(err, procstat.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil || hwm <= 0 {
		t.Fatalf("PeakRSS(self) = %d, %v", hwm, err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer cmd.Process.Kill()
	s := procstat.Sample(os.Getpid(), 0)
	tree := procstat.Tree(os.Getpid())
	peaks := s.Stop()
	if tree[cmd.Process.Pid] != "sleep" {
		t.Fatalf("Tree of the test process: %v, want the child sleep %d in it", tree, cmd.Process.Pid)
	}
	if peaks["sleep"] <= 0 {
		t.Fatalf("Sample: %v, want a peak for sleep", peaks)
	}
}
