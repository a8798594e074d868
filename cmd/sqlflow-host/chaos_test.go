package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/sqlflow/sqlflow-host/plugins/csv/csvconn"
	"github.com/sqlflow/sqlflow-host/plugins/memory/memconn"
	"github.com/sqlflow/sqlflow-host/plugins/parquet/parquetconn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

// readAllInProcess reads a whole stream of a connector living in this
// process and returns its rows' checksum.
func readAllInProcess(t *testing.T, c sdk.Source, cfg, stream string) rowhash.Sum {
	t.Helper()
	ctx := context.Background()
	if fe, err := c.Configure(ctx, json.RawMessage(cfg)); err != nil || len(fe) > 0 {
		t.Fatalf("configure %s: %v %v", cfg, fe, err)
	}
	var sum rowhash.Sum
	var cp []byte
	for {
		p, err := c.ReadPage(ctx, sdk.ReadRequest{Stream: stream, Checkpoint: cp})
		if err != nil {
			t.Fatalf("read back %s: %v", cfg, err)
		}
		if p.Records != nil {
			// Through IPC, as the host sees it.
			data, err := arrowipc.EncodeRecord(p.Records)
			p.Records.Release()
			if err != nil {
				t.Fatal(err)
			}
			rec, err := arrowipc.DecodeRecord(data)
			if err != nil {
				t.Fatal(err)
			}
			sum.Add(rec)
			rec.Release()
		}
		if p.Done {
			return sum
		}
		cp = p.Checkpoint
	}
}

// chaosMonkey SIGKILLs the host's plugin processes at seeded random
// moments until stop or max kills, and returns how many it killed. After each kill it
// waits until the killed plugin was replaced (the host again runs as many
// plugins as before) and then a random pause of about every, so the run
// makes progress between kills instead of live-locking in restarts.
func chaosMonkey(t *testing.T, host *exec.Cmd, seed uint64, every time.Duration, max int64, stop <-chan struct{}) *atomic.Int64 {
	t.Helper()
	var kills atomic.Int64
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	sleep := func(d time.Duration) bool {
		select {
		case <-stop:
			return false
		case <-time.After(d):
			return true
		}
	}
	go func() {
		want := 0
		for kills.Load() < max {
			if !sleep(every/2 + time.Duration(r.Int64N(int64(every)))) {
				return
			}
			pids := pluginPids(t, host.Process.Pid)
			if len(pids) < want || len(pids) == 0 {
				continue // a restart is still under way
			}
			want = len(pids)
			pid := pids[r.IntN(len(pids))]
			if syscall.Kill(pid, syscall.SIGKILL) != nil {
				continue
			}
			kills.Add(1)
			// Wait for the replacement.
			for {
				if !sleep(20 * time.Millisecond) {
					return
				}
				now := pluginPids(t, host.Process.Pid)
				replaced := len(now) >= want
				for _, p := range now {
					if p == pid {
						replaced = false
					}
				}
				if replaced {
					break
				}
			}
		}
	}()
	return &kills
}

type chaosCase struct {
	name string
	// every is the monkey's mean pause between kills: shorter for the
	// faster flows, so each run sees at least 10 kills.
	every time.Duration
	// setup writes what the pipeline reads and returns the pipeline's
	// source and destination YAML and the expected checksum.
	setup func(t *testing.T, dir string) (src, dst string, want rowhash.Sum)
	// readBack returns the target's checksum.
	readBack func(t *testing.T, dir string) rowhash.Sum
}

const chaosRows = 200000

func genConfig(rows int) string {
	return fmt.Sprintf(`{"table_name": "events", "generate": {"rows": %d, "seed": 11}}`, rows)
}

// TestChaosKillPlugins kills the source and destination plugins at seeded
// random moments, at least 10 times during one run of 200,000 rows, and
// checks that the target holds exactly the source's rows.
func TestChaosKillPlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos tests run without -short")
	}
	cases := []chaosCase{
		{
			name:  "memory_to_csv",
			every: 400 * time.Millisecond,
			setup: func(t *testing.T, dir string) (string, string, rowhash.Sum) {
				want := readAllInProcess(t, memconn.New(nil), genConfig(chaosRows), "events")
				return `{type: memory, table_name: events, generate: {rows: 200000, seed: 11}, faults: {latency: 0.005}}`,
					`{type: csv, path: ` + dir + `/out}`, want
			},
			readBack: func(t *testing.T, dir string) rowhash.Sum {
				return readAllInProcess(t, csvconn.New(nil), `{"path": "`+dir+`/out/events.csv"}`, "events")
			},
		},
		{
			name:  "csv_to_parquet",
			every: 120 * time.Millisecond,
			setup: func(t *testing.T, dir string) (string, string, rowhash.Sum) {
				writeGeneratedCSV(t, dir)
				want := readAllInProcess(t, csvconn.New(nil), `{"path": "`+dir+`/in/events.csv"}`, "events")
				return `{type: csv, path: ` + dir + `/in/events.csv}`, `{type: parquet, path: ` + dir + `/out}`, want
			},
			readBack: func(t *testing.T, dir string) rowhash.Sum {
				return readAllInProcess(t, parquetconn.New(nil), `{"path": "`+dir+`/out/events.parquet"}`, "events")
			},
		},
		{
			name:  "parquet_to_memory",
			every: 300 * time.Millisecond,
			setup: func(t *testing.T, dir string) (string, string, rowhash.Sum) {
				writeGeneratedParquet(t, dir)
				want := readAllInProcess(t, parquetconn.New(nil), `{"path": "`+dir+`/in/events.parquet"}`, "events")
				return `{type: parquet, path: ` + dir + `/in/events.parquet}`,
					`{type: memory, staging_dir: ` + dir + `/staging, dump_path: ` + dir + `/out/events.arrow}`, want
			},
			readBack: func(t *testing.T, dir string) rowhash.Sum {
				return readArrowFile(t, dir+"/out/events.arrow")
			},
		},
	}
	bin := hostBinary(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src, dst, want := tc.setup(t, dir)
			// Plugins die every few hundred milliseconds here, far more
			// often than the default crash-loop limit and the file
			// profiles' two attempts allow: the pipeline says so.
			res := `{retry: {max_attempts: 20, initial_delay: 0.02, max_delay: 0.2}, recovery: {enable_connection_recovery: true, max_restarts: 200}}`
			src = strings.TrimSuffix(src, "}") + ", resilience: " + res + "}"
			dst = strings.TrimSuffix(dst, "}") + ", resilience: " + res + "}"
			p := write(t, dir, "chaos.yaml", `version: 1
sources:
  src: `+src+`
destinations:
  dst: `+dst+`
flows:
  - {name: chaos, from: src, stream: events, to: dst, target: events, mode: replace}
`)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--plugins-dir", pluginsDir, "run", "--page-rows", "100", "--state-dir", dir+"/state", p)
			stderr, _ := cmd.StderrPipe()
			var out strings.Builder
			cmd.Stdout = &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			logDone := make(chan struct{})
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					log.WriteString(sc.Text() + "\n")
				}
				close(logDone)
			}()
			stop := make(chan struct{})
			kills := chaosMonkey(t, cmd, uint64(i+1)*7919, tc.every, 12, stop)
			err := cmd.Wait()
			close(stop)
			<-logDone
			if err != nil {
				t.Fatalf("run failed after %d kills: %v\nstdout:\n%s\nstderr:\n%s", kills.Load(), err, out.String(), tail(log.String(), 40))
			}
			if kills.Load() < 10 {
				t.Fatalf("only %d kills happened during the run; the test needs at least 10 (stdout: %s)", kills.Load(), out.String())
			}
			got := tc.readBack(t, dir)
			if got != want {
				t.Fatalf("after %d kills the target holds %v, the source %v", kills.Load(), got, want)
			}
			t.Logf("%d plugin kills; target holds exactly the source's %d rows", kills.Load(), got.Rows)
		})
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writeGeneratedCSV writes 200,000 generated rows as dir/in/events.csv via
// the memory and csv connectors in-process.
func writeGeneratedCSV(t *testing.T, dir string) {
	t.Helper()
	copyInProcess(t, memconn.New(nil), genConfig(chaosRows), "events", csvconn.New(nil), `{"path": "`+dir+`/in"}`, "events.csv")
}

func writeGeneratedParquet(t *testing.T, dir string) {
	t.Helper()
	copyInProcess(t, memconn.New(nil), genConfig(chaosRows), "events", parquetconn.New(nil), `{"path": "`+dir+`/in", "row_group_size": 5000}`, "events.parquet")
}

func copyInProcess(t *testing.T, src sdk.Source, srcCfg, stream string, dst sdk.Destination, dstCfg, target string) {
	t.Helper()
	ctx := context.Background()
	if fe, err := src.Configure(ctx, json.RawMessage(srcCfg)); err != nil || len(fe) > 0 {
		t.Fatal(fe, err)
	}
	if fe, err := dst.Configure(ctx, json.RawMessage(dstCfg)); err != nil || len(fe) > 0 {
		t.Fatal(fe, err)
	}
	var cp []byte
	began := false
	seq := int64(0)
	for {
		p, err := src.ReadPage(ctx, sdk.ReadRequest{Stream: stream, Checkpoint: cp})
		if err != nil {
			t.Fatal(err)
		}
		if p.Records != nil {
			if !began {
				if err := dst.BeginWrite(ctx, sdk.WriteRequest{WriteID: "seed", Flow: "seed", Target: target, Schema: p.Records.Schema(), Mode: sdk.ModeReplace}); err != nil {
					t.Fatal(err)
				}
				began = true
			}
			seq++
			if err := dst.WriteBatch(ctx, "seed", seq, p.Records); err != nil {
				t.Fatal(err)
			}
			p.Records.Release()
		}
		if p.Done {
			break
		}
		cp = p.Checkpoint
	}
	if err := dst.CommitWrite(ctx, "seed", nil); err != nil {
		t.Fatal(err)
	}
}

// readArrowFile sums the rows of an Arrow IPC file (the memory
// destination's dump_path).
func readArrowFile(t *testing.T, path string) rowhash.Sum {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var sum rowhash.Sum
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		if err != nil {
			t.Fatal(err)
		}
		sum.Add(rec)
	}
	return sum
}
