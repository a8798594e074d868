package rpcclient_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/protocol"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// numbered is a source whose page k (the checkpoint) holds rows
// k*rows .. k*rows+rows-1 and a text derived from each, so every page's
// bytes differ.
type numbered struct{ rows int64 }

var numberedSchema = arrow.NewSchema([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String}}, nil)

func (n *numbered) Spec() sdk.Spec { return sdk.Spec{Name: "numbered", Version: "1.0.0"} }
func (n *numbered) Configure(context.Context, json.RawMessage) ([]sdk.FieldError, error) {
	return nil, nil
}
func (n *numbered) Check(context.Context) error { return nil }
func (n *numbered) Discover(context.Context) ([]sdk.Stream, error) {
	return []sdk.Stream{{Name: "s", Schema: numberedSchema}}, nil
}

func (n *numbered) ReadPage(_ context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	k := int64(binary.BigEndian.Uint64(req.Checkpoint))
	b := array.NewRecordBuilder(memory.DefaultAllocator, numberedSchema)
	defer b.Release()
	for i := k * n.rows; i < (k+1)*n.rows; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("row %d of page %d", i, k))
	}
	return sdk.Page{Records: b.NewRecordBatch(), Checkpoint: binary.BigEndian.AppendUint64(nil, uint64(k+1))}, nil
}

// checkPage fails unless records hold page k of numbered{rows}.
func checkPage(records []byte, k, rows int64) error {
	rec, err := arrowipc.DecodeRecord(records)
	if err != nil {
		return fmt.Errorf("page %d: %w", k, err)
	}
	defer rec.Release()
	ids, names := rec.Column(0).(*array.Int64), rec.Column(1).(*array.String)
	if rec.NumRows() != rows {
		return fmt.Errorf("page %d: %d rows", k, rec.NumRows())
	}
	for r := range int(rows) {
		want := k*rows + int64(r)
		if ids.Value(r) != want || names.Value(r) != fmt.Sprintf("row %d of page %d", want, k) {
			return fmt.Errorf("page %d row %d: got %d %q", k, r, ids.Value(r), names.Value(r))
		}
	}
	return nil
}

// TestReleaseReusesOnlyReleasedPages reads pages over real gRPC through a
// client built with NewWithCodec, from four goroutines at once, the way a
// host forwards them: each goroutine keeps its previous page until the
// next one has arrived and checks that it is still intact, then releases
// it. A page's memory must be reused only once it is released.
func TestReleaseReusesOnlyReleasedPages(t *testing.T) {
	srv := grpc.NewServer(grpc.ForceServerCodecV2(protocol.NewCodec()))
	sdk.RegisterServer(srv, &numbered{rows: 4000}, nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()
	codec := protocol.NewCodec()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(codec)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := rpcclient.NewWithCodec(conn, codec)

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			var prev rpcclient.Page
			prevK := int64(-1)
			for k := int64(g); k < 80; k += 4 {
				p, err := c.ReadPage(context.Background(), sdk.ReadRequest{Stream: "s", Checkpoint: binary.BigEndian.AppendUint64(nil, uint64(k))})
				if err != nil {
					errs <- err
					return
				}
				if p.Release == nil {
					errs <- fmt.Errorf("page %d has no Release", k)
					return
				}
				if prevK >= 0 {
					if err := checkPage(prev.Records, prevK, 4000); err != nil {
						errs <- fmt.Errorf("held while the next arrived: %w", err)
						return
					}
					prev.Release()
				}
				if err := checkPage(p.Records, k, 4000); err != nil {
					errs <- err
					return
				}
				prev, prevK = p, k
			}
			prev.Release()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
