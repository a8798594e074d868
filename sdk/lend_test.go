package sdk

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
	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	pb "github.com/sqlflow/sqlflow-host/sdk/proto/sqlflow/connector/v1"
	"github.com/sqlflow/sqlflow-host/sdk/protocol"
)

// pages is a source whose page k (the checkpoint) holds rows k*rows ..
// k*rows+rows-1 with a text column derived from each: every page's bytes
// differ, so a page sent from a buffer that was reused too early would
// arrive with another page's values.
type pages struct{ rows int64 }

var pagesSchema = arrow.NewSchema([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String}}, nil)

func (p *pages) Spec() Spec { return Spec{Name: "pages", Version: "1.0.0"} }
func (p *pages) Configure(context.Context, json.RawMessage) ([]FieldError, error) {
	return nil, nil
}
func (p *pages) Check(context.Context) error { return nil }
func (p *pages) Discover(context.Context) ([]Stream, error) {
	return []Stream{{Name: "s", Schema: pagesSchema}}, nil
}

func (p *pages) ReadPage(_ context.Context, req ReadRequest) (Page, error) {
	k := int64(binary.BigEndian.Uint64(req.Checkpoint))
	b := array.NewRecordBuilder(memory.DefaultAllocator, pagesSchema)
	defer b.Release()
	for i := k * p.rows; i < (k+1)*p.rows; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("row %d of page %d", i, k))
	}
	return Page{Records: b.NewRecordBatch(), Checkpoint: binary.BigEndian.AppendUint64(nil, uint64(k+1))}, nil
}

// TestLentPagesArriveIntact serves a source over real gRPC with the
// codec lending the buffers pages are encoded into, and reads many pages
// from several goroutines at once: each must arrive with its own values
// although buffers go back to the codec and are reused as soon as gRPC
// has written them.
func TestLentPagesArriveIntact(t *testing.T) {
	codec := protocol.NewCodec()
	srv := grpc.NewServer(grpc.ForceServerCodecV2(codec))
	s := newServer(&pages{rows: 5000}, hclog.NewNullLogger())
	s.lender = codec
	pb.RegisterConnectorServer(srv, s)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(protocol.NewCodec())))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pb.NewConnectorClient(conn)

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for k := int64(g); k < 60; k += 4 {
				resp, err := client.ReadPage(context.Background(), &pb.ReadPageRequest{Stream: "s", Checkpoint: binary.BigEndian.AppendUint64(nil, uint64(k))})
				if err != nil {
					errs <- err
					return
				}
				rec, err := arrowipc.DecodeRecord(resp.Records)
				if err != nil {
					errs <- fmt.Errorf("page %d: %w", k, err)
					return
				}
				ids, names := rec.Column(0).(*array.Int64), rec.Column(1).(*array.String)
				for r := range int(rec.NumRows()) {
					want := k*5000 + int64(r)
					if ids.Value(r) != want || names.Value(r) != fmt.Sprintf("row %d of page %d", want, k) {
						errs <- fmt.Errorf("page %d row %d: got %d %q", k, r, ids.Value(r), names.Value(r))
						rec.Release()
						return
					}
				}
				rec.Release()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
