package main

import "testing"

func TestBenchMetrics(t *testing.T) {
	out := "goos: linux\nBenchmarkE2EMemoryToMemory/rows=300000-2  \t       1\t 854286433 ns/op\t        38.69 boundary_cost_%\t   1883411 inprocess_rows/s\n--- BENCH: x\n"
	m := benchMetrics(out, "BenchmarkE2EMemoryToMemory/")
	if m["boundary_cost_%"] != 38.69 || m["inprocess_rows/s"] != 1883411 || m["ns/op"] != 854286433 {
		t.Errorf("got %v", m)
	}
	if benchMetrics("PASS\n", "BenchmarkE2EMemoryToMemory/") != nil {
		t.Error("no result line must give nil")
	}
}

func TestMedianAndGroup(t *testing.T) {
	tests := []struct {
		name string
		v    []float64
		want float64
	}{
		{"none", nil, 0},
		{"odd", []float64{3, 1, 2}, 2},
		{"even", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.v); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 2000000: "2,000,000"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}
