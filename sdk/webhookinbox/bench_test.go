package webhookinbox_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/webhookinbox"
)

// BenchmarkBoltAppend measures durable appends of 1 KiB events from 32
// concurrent receivers' requests (each Append waits for its commit).
func BenchmarkBoltAppend(b *testing.B) {
	in, err := webhookinbox.OpenBolt(filepath.Join(b.TempDir(), "inbox.db"), webhookinbox.BoltOptions{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	body := []byte(`{"note":"` + strings.Repeat("x", 1000) + `"}`)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ev := event(fmt.Sprint("b", n.Add(1)))
			ev.Payload = body
			if _, _, err := in.Append(context.Background(), ev); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
