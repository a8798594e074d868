package connector

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// InProcess adapts an sdk.Connector living in the host's process to Conn.
// Pages are encoded to Arrow IPC and batches decoded from it exactly as the
// plugin side of the protocol does, so the only difference from a plugin
// process is the absence of gRPC and of the process boundary.
type InProcess struct {
	c sdk.Connector
}

// NewInProcess returns an adapter over c.
func NewInProcess(c sdk.Connector) *InProcess { return &InProcess{c: c} }

var _ Conn = (*InProcess)(nil)

// Spec returns the connector's spec with roles and protocol version filled
// in as Serve does.
func (p *InProcess) Spec(ctx context.Context) (sdk.Spec, error) { return sdk.FullSpec(p.c), nil }

// Configure calls the connector's Configure.
func (p *InProcess) Configure(ctx context.Context, config json.RawMessage) ([]sdk.FieldError, error) {
	fe, err := p.c.Configure(ctx, config)
	return fe, classified(err)
}

// Check calls the connector's Check.
func (p *InProcess) Check(ctx context.Context) error { return classified(p.c.Check(ctx)) }

// Discover calls the source's Discover.
func (p *InProcess) Discover(ctx context.Context) ([]sdk.Stream, error) {
	src, err := p.source()
	if err != nil {
		return nil, err
	}
	s, err := src.Discover(ctx)
	return s, classified(err)
}

// ReadPage calls the source's ReadPage and encodes the page.
func (p *InProcess) ReadPage(ctx context.Context, req sdk.ReadRequest) (Page, error) {
	src, err := p.source()
	if err != nil {
		return Page{}, err
	}
	pg, err := src.ReadPage(ctx, req)
	if err != nil {
		if pg.Records != nil {
			pg.Records.Release()
		}
		return Page{}, classified(err)
	}
	out := Page{Checkpoint: pg.Checkpoint, Done: pg.Done, CursorValue: pg.CursorValue, RateHints: pg.RateHints}
	if pg.Records != nil {
		defer pg.Records.Release()
		data, err := arrowipc.EncodeRecord(pg.Records)
		if err != nil {
			return Page{}, errclass.Permanentf("stream %q: %w", req.Stream, err)
		}
		out.Records, out.Rows = data, pg.Records.NumRows()
	}
	return out, nil
}

// BeginWrite calls the destination's BeginWrite.
func (p *InProcess) BeginWrite(ctx context.Context, req sdk.WriteRequest) error {
	dst, err := p.destination()
	if err != nil {
		return err
	}
	return classified(dst.BeginWrite(ctx, req))
}

// WriteBatch decodes the batch and calls the destination's WriteBatch.
func (p *InProcess) WriteBatch(ctx context.Context, writeID string, seq int64, records []byte) error {
	dst, err := p.destination()
	if err != nil {
		return err
	}
	rec, err := arrowipc.DecodeRecord(records)
	if err != nil {
		return errclass.Permanentf("batch %d: %w", seq, err)
	}
	defer rec.Release()
	return classified(dst.WriteBatch(ctx, writeID, seq, rec))
}

// CommitWrite calls the destination's CommitWrite and its report.
func (p *InProcess) CommitWrite(ctx context.Context, writeID string, state []byte) (map[string]string, error) {
	dst, err := p.destination()
	if err != nil {
		return nil, err
	}
	if err := dst.CommitWrite(ctx, writeID, state); err != nil {
		return nil, classified(err)
	}
	if r, ok := dst.(sdk.CommitReporter); ok {
		return r.CommitReport(writeID), nil
	}
	return nil, nil
}

// AbortWrite calls the destination's AbortWrite.
func (p *InProcess) AbortWrite(ctx context.Context, writeID string) error {
	dst, err := p.destination()
	if err != nil {
		return err
	}
	return classified(dst.AbortWrite(ctx, writeID))
}

// CheckWrite calls the destination's sdk.WriteChecker.
func (p *InProcess) CheckWrite(ctx context.Context, req sdk.WriteRequest) (string, error) {
	wc, ok := p.c.(sdk.WriteChecker)
	if _, dst := p.c.(sdk.Destination); !ok || !dst {
		return "", errclass.Wrap(errclass.Permanent, rpcclient.ErrNotImplemented)
	}
	r, err := wc.CheckWrite(ctx, req)
	return r, classified(err)
}

// LoadState calls the destination's sdk.StateStore.
func (p *InProcess) LoadState(ctx context.Context, flow string) ([]byte, bool, error) {
	st, ok := p.c.(sdk.StateStore)
	if !ok {
		return nil, false, errclass.Wrap(errclass.Permanent, rpcclient.ErrNotImplemented)
	}
	blob, found, err := st.LoadState(ctx, flow)
	return blob, found, classified(err)
}

// DeleteState calls the destination's sdk.StateStore.
func (p *InProcess) DeleteState(ctx context.Context, flow string) (bool, error) {
	st, ok := p.c.(sdk.StateStore)
	if !ok {
		return false, errclass.Wrap(errclass.Permanent, rpcclient.ErrNotImplemented)
	}
	found, err := st.DeleteState(ctx, flow)
	return found, classified(err)
}

func (p *InProcess) source() (sdk.Source, error) {
	if s, ok := p.c.(sdk.Source); ok {
		return s, nil
	}
	return nil, errclass.Permanentf("connector %s is not a source", p.c.Spec().Name)
}

func (p *InProcess) destination() (sdk.Destination, error) {
	if d, ok := p.c.(sdk.Destination); ok {
		return d, nil
	}
	return nil, errclass.Permanentf("connector %s is not a destination", p.c.Spec().Name)
}

// classified gives an unclassified error the PERMANENT class, as the plugin
// side of the protocol does, so both implementations answer alike.
func classified(err error) error {
	switch {
	case err == nil || errclass.Of(err) != errclass.Unknown:
		return err
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return errclass.Wrap(errclass.Transient, err)
	}
	return errclass.Wrap(errclass.Permanent, err)
}
