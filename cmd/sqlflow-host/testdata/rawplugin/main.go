// Command rawplugin is a source written against the .proto alone, as a
// non-Go author would: it implements the generated gRPC service itself
// (no sdk.Serve), so what it answers is exactly what it sets. Its config
// key "fault" picks what it gets wrong:
//
//	num_rows_unset  ReadPage leaves num_rows at 0 for a page of 3 rows
//	num_rows_wrong  num_rows says 5 for a page of 3 rows
//	no_data         num_rows says 3 and records are empty
//	schema_change   page 2 has another schema than page 1
//	(anything else) two correct pages of 3 rows
package main

import (
	"context"
	"encoding/json"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hashicorp/go-plugin"

	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	pb "github.com/sqlflow/sqlflow-host/sdk/proto/sqlflow/connector/v1"
	"github.com/sqlflow/sqlflow-host/sdk/protocol"
)

type server struct {
	pb.UnimplementedConnectorServer
	fault string
}

func (s *server) Spec(context.Context, *pb.SpecRequest) (*pb.SpecResponse, error) {
	return &pb.SpecResponse{Name: "raw", Version: "0.0.1", ProtocolVersion: protocol.Version, Source: true,
		ConfigSchema: []byte(`{"type":"object"}`), ResilienceClass: "none"}, nil
}

func (s *server) Configure(_ context.Context, r *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	var cfg struct {
		Fault string `json:"fault"`
	}
	_ = json.Unmarshal(r.GetConfigJson(), &cfg)
	s.fault = cfg.Fault
	return &pb.ConfigureResponse{}, nil
}

func (s *server) Check(context.Context, *pb.CheckRequest) (*pb.CheckResponse, error) {
	return &pb.CheckResponse{}, nil
}

func (s *server) Discover(context.Context, *pb.DiscoverRequest) (*pb.DiscoverResponse, error) {
	return &pb.DiscoverResponse{Streams: []*pb.Stream{{Name: "numbers"}}}, nil
}

func page(name string, first int64) []byte {
	schema := arrow.NewSchema([]arrow.Field{{Name: name, Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues([]int64{first, first + 1, first + 2}, nil)
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 3)
	defer rec.Release()
	data, err := arrowipc.EncodeRecord(rec)
	if err != nil {
		panic(err)
	}
	return data
}

func (s *server) ReadPage(_ context.Context, r *pb.ReadPageRequest) (*pb.ReadPageResponse, error) {
	second := string(r.GetCheckpoint()) == "2"
	resp := &pb.ReadPageResponse{Records: page("id", 1), NumRows: 3, Checkpoint: []byte("2")}
	if second {
		resp = &pb.ReadPageResponse{Records: page("id", 4), NumRows: 3, Done: true}
	}
	switch s.fault {
	case "num_rows_unset":
		resp.NumRows = 0
	case "num_rows_wrong":
		resp.NumRows = 5
	case "no_data":
		resp.Records = nil
	case "schema_change":
		if second {
			resp.Records = page("other", 4)
		}
	}
	return resp, nil
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: protocol.Handshake(),
		Plugins:         plugin.PluginSet{protocol.PluginName: &protocol.GRPCPlugin{Impl: &server{}}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
