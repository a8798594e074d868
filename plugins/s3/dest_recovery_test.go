package main_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/plugins/s3/s3conn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

var recoverySchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// stagedMarkers returns the batch markers under prefix's staging.
func stagedMarkers(t *testing.T, srv *server, prefix string) []string {
	t.Helper()
	var out []string
	for _, k := range srv.keys(t, prefix+"/.sqlflow-staging/") {
		if strings.Contains(k, "/upload-") {
			out = append(out, k)
		}
	}
	return out
}

// writeBatches begins write id of flow f into target t and writes n batches
// of 10 rows.
func writeBatches(t *testing.T, ctx context.Context, c *s3conn.Connector, id string, n int) {
	t.Helper()
	if err := c.BeginWrite(ctx, sdk.WriteRequest{WriteID: id, Flow: "f", Target: "t", Schema: recoverySchema, Mode: sdk.ModeReplace}); err != nil {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= int64(n); seq++ {
		rec := batch(recoverySchema, int(seq)*10, 10)
		err := c.WriteBatch(ctx, id, seq, rec)
		rec.Release()
		if err != nil {
			t.Fatalf("batch %d: %v", seq, err)
		}
	}
}

// TestCommitFinishesMarkerCleanup: a reset on the commit's DeleteObjects of
// the batch markers (after write.json recorded the commit) fails the
// commit TRANSIENT; the retried commit, in the same process or a restarted
// one, finishes the cleanup, so no marker survives a successful commit.
// A commit whose cleanup was never retried is finished by the flow's next
// BeginWrite.
func TestCommitFinishesMarkerCleanup(t *testing.T) {
	srv := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i, name := range []string{"same process", "restarted plugin", "next write of the flow"} {
		t.Run(name, func(t *testing.T) {
			prefix := "mk" + string(rune('a'+i))
			p := newRuleProxy(t, srv.endpoint, []rule{{op: opDeleteObjects, body: "/upload-", nth: []int{1}, action: reset}})
			cfg := srv.config(t, map[string]any{"path_prefix": prefix, "file_format": "jsonl", "endpoint_url": p.srv.URL})
			c := configure(t, cfg)
			writeBatches(t, ctx, c, "w1", 10)
			err := c.CommitWrite(ctx, "w1", nil)
			if err == nil || !errclass.Is(err, errclass.Transient) {
				t.Fatalf("the commit whose marker cleanup was reset answered %v, want a TRANSIENT error", err)
			}
			if n := len(stagedMarkers(t, srv, prefix)); n != 10 {
				t.Fatalf("%d markers after the reset cleanup, want the 10 the reset left", n)
			}
			switch name {
			case "same process":
				err = c.CommitWrite(ctx, "w1", nil)
			case "restarted plugin":
				err = configure(t, cfg).CommitWrite(ctx, "w1", nil)
			default:
				next := configure(t, cfg)
				writeBatches(t, ctx, next, "w2", 0)
				err = next.CommitWrite(ctx, "w2", nil)
			}
			if err != nil {
				t.Fatalf("the repeated commit: %v", err)
			}
			if left := stagedMarkers(t, srv, prefix); len(left) > 0 {
				t.Errorf("%d markers survived the commit: %v", len(left), left)
			}
			if applied, _ := p.summary(); applied[opDeleteObjects+" "+reset] != 1 {
				t.Errorf("the proxy reset %d marker deletes, want 1", applied[opDeleteObjects+" "+reset])
			}
		})
	}
}

// TestLostCompleteReply: the server completes a batch's multipart upload
// but its reply is lost (the proxy forwards CompleteMultipartUpload and
// resets the connection instead of answering). The batch finds its object
// (HeadObject, the ETag of its parts) and succeeds in the same call: no
// error the host would count toward the breaker, no new upload. When the
// HeadObject fails too, the call fails TRANSIENT and the batch sent again
// finds the object before uploading anything: never "the multipart upload
// is gone".
func TestLostCompleteReply(t *testing.T) {
	srv := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i, tc := range []struct {
		name  string
		rules []rule
		// firstFails: the first WriteBatch of the batch may fail (the
		// check itself hit a network error).
		firstFails bool
	}{
		{"reply lost", []rule{{op: opComplete, nth: []int{2}, action: dropReply}}, false},
		{"reply lost and the check reset", []rule{{op: opComplete, nth: []int{2}, action: dropReply}, {op: "HEAD", nth: []int{1}, action: reset}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := "lc" + string(rune('a'+i))
			p := newRuleProxy(t, srv.endpoint, tc.rules)
			cfg := srv.config(t, map[string]any{"path_prefix": prefix, "file_format": "parquet", "endpoint_url": p.srv.URL})
			c := configure(t, cfg)
			writeBatches(t, ctx, c, "w1", 1)
			rec := batch(recoverySchema, 100, 10)
			defer rec.Release()
			err := c.WriteBatch(ctx, "w1", 2, rec)
			if err != nil && (!tc.firstFails || !errclass.Is(err, errclass.Transient)) {
				t.Fatalf("batch 2, whose completion's reply was lost: %v", err)
			}
			if err != nil {
				t.Logf("first attempt: %v", err)
				if err = c.WriteBatch(ctx, "w1", 2, rec); err != nil {
					t.Fatalf("batch 2 sent again: %v", err)
				}
			}
			if n := p.requests(opCreate); n != 2 {
				t.Errorf("%d multipart uploads created for 2 batches: the batch was uploaded again", n)
			}
			if n := p.requests(opUploadPart); n != 2 {
				t.Errorf("%d parts uploaded for 2 one-part batches", n)
			}
			if err := c.CommitWrite(ctx, "w1", nil); err != nil {
				t.Fatal(err)
			}
			files, err := srv.manifestFiles(ctx, prefix+"/t")
			if err != nil || len(files) != 2 {
				t.Fatalf("manifest names %v (%v), want 2 objects", files, err)
			}
			_, created := p.summary()
			for i, k := range created {
				created[i] = strings.TrimPrefix(k, srv.bucket+"/")
			}
			srv.noUploadsLeft(t, created)
			if left := stagedMarkers(t, srv, prefix); len(left) > 0 {
				t.Errorf("markers left: %v", left)
			}
		})
	}
}
