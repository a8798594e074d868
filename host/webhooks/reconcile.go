package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqlflow/sqlflow-host/host/connector"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/webhookinbox"
)

// reconcilable maps a topic's resource (its part before the first /) to
// the shopify source's stream of those objects.
var reconcilable = map[string]string{"orders": "orders", "customers": "customers", "products": "products"}

// objectsOf returns the streams the topics' objects are read from, sorted.
func objectsOf(topics []string) []string {
	set := map[string]bool{}
	for _, t := range topics {
		res, _, _ := strings.Cut(t, "/")
		if s, ok := reconcilable[res]; ok {
			set[s] = true
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// UnreconcilableTopics returns the topics whose objects reconcile cannot
// read (no orders, customers or products topic).
func UnreconcilableTopics(topics []string) []string {
	var out []string
	for _, t := range topics {
		res, _, _ := strings.Cut(t, "/")
		if _, ok := reconcilable[res]; !ok {
			out = append(out, t)
		}
	}
	return out
}

// PageReader reads a source's pages: the host's connector for the shopify
// source, through its resilience policy.
type PageReader interface {
	ReadPage(ctx context.Context, req sdk.ReadRequest) (connector.Page, error)
}

// Reconciler fills an inbox's gaps from the Admin API through the shopify
// source, and checks the shop's webhook subscriptions.
type Reconciler struct {
	// Inbox is the inbox whose gaps are filled.
	Inbox webhookinbox.Inbox
	// Source reads the shopify source's streams.
	Source PageReader
	// Topics are the subscribed topics.
	Topics []string
	// Margin widens each gap on both sides.
	Margin time.Duration
}

// Filled is what reconcile did for one gap and one object.
type Filled struct {
	Gap    webhookinbox.Gap
	Object string
	// Read counts the objects updated in the gap; Stored those new in the
	// inbox (the rest were there from an earlier reconcile).
	Read, Stored int
}

// FillGaps reads, for every open gap and every object of the topics, the
// objects updated in the gap (widened by Margin), stores each as an event
// marked reconciled (topic "<object>/reconciled", event id
// "reconciled:<object>:<id>:<updated_at>", payload the object's columns as
// JSON, triggered-at its updated_at), and marks the gap reconciled at now.
// A gap is marked only when all its objects were read.
func (r *Reconciler) FillGaps(ctx context.Context, now time.Time) ([]Filled, error) {
	gaps, err := r.Inbox.Gaps(ctx)
	if err != nil {
		return nil, err
	}
	var out []Filled
	for _, g := range gaps {
		for _, obj := range objectsOf(r.Topics) {
			f, err := r.fill(ctx, g, obj, now)
			if err != nil {
				return out, fmt.Errorf("reconcile %s of the gap %s to %s: %w", obj, g.From.Format(time.RFC3339), g.To.Format(time.RFC3339), err)
			}
			out = append(out, f)
		}
		if err := r.Inbox.MarkReconciled(ctx, g.ID, now); err != nil {
			return out, err
		}
	}
	return out, nil
}

func (r *Reconciler) fill(ctx context.Context, g webhookinbox.Gap, obj string, now time.Time) (Filled, error) {
	f := Filled{Gap: g, Object: obj}
	from, to := g.From.Add(-r.Margin), g.To.Add(r.Margin)
	cursor, _ := json.Marshal(from.UTC().Format(time.RFC3339Nano))
	req := sdk.ReadRequest{Stream: obj, CursorField: "updated_at", CursorValue: cursor}
	for {
		page, err := r.Source.ReadPage(ctx, req)
		if err != nil {
			return f, err
		}
		if len(page.Records) > 0 {
			rec, err := arrowipc.DecodeRecord(page.Records)
			if err != nil {
				return f, err
			}
			err = r.store(ctx, rec, obj, from, to, now, &f)
			rec.Release()
			if err != nil {
				return f, err
			}
		}
		if page.Done {
			return f, nil
		}
		req.Checkpoint = page.Checkpoint
	}
}

// store adds the rows of rec updated in [from, to] to the inbox.
func (r *Reconciler) store(ctx context.Context, rec arrow.RecordBatch, obj string, from, to, now time.Time, f *Filled) error {
	sch := rec.Schema()
	ui := sch.FieldIndices("updated_at")
	ii := sch.FieldIndices("id")
	if len(ui) == 0 || len(ii) == 0 {
		return fmt.Errorf("stream %s has no id and updated_at columns", obj)
	}
	ucol, ok := rec.Column(ui[0]).(*array.Timestamp)
	if !ok {
		return fmt.Errorf("stream %s: updated_at is %s, not a timestamp", obj, rec.Column(ui[0]).DataType())
	}
	unit := ucol.DataType().(*arrow.TimestampType).Unit
	for row := 0; row < int(rec.NumRows()); row++ {
		if ucol.IsNull(row) || rec.Column(ii[0]).IsNull(row) {
			continue
		}
		updated := ucol.Value(row).ToTime(unit).UTC()
		if updated.Before(from) || updated.After(to) {
			continue
		}
		payload := map[string]any{}
		for c, fld := range sch.Fields() {
			payload[fld.Name] = rec.Column(c).GetOneForMarshal(row)
		}
		body, err := json.Marshal(payload)
		if err != nil {
			return err
		}
		id := rec.Column(ii[0]).ValueStr(row)
		ev := webhookinbox.Event{
			EventID:     "reconciled:" + obj + ":" + id + ":" + strconv.FormatInt(updated.UnixMicro(), 10),
			Topic:       obj + "/reconciled",
			TriggeredAt: updated,
			ReceivedAt:  now.UTC(),
			Reconciled:  true,
			Payload:     body,
		}
		_, dup, err := r.Inbox.Append(ctx, ev)
		if err != nil {
			return err
		}
		f.Read++
		if !dup {
			f.Stored++
		}
	}
	return nil
}

// MissingSubscriptions lists the shop's webhook subscriptions (the
// source's webhook_subscriptions stream) and returns the subscribed
// topics that have none, sorted.
func (r *Reconciler) MissingSubscriptions(ctx context.Context) ([]string, error) {
	have := map[string]bool{}
	req := sdk.ReadRequest{Stream: "webhook_subscriptions"}
	for {
		page, err := r.Source.ReadPage(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("list webhook subscriptions: %w", err)
		}
		if len(page.Records) > 0 {
			rec, err := arrowipc.DecodeRecord(page.Records)
			if err != nil {
				return nil, err
			}
			if idx := rec.Schema().FieldIndices("topic"); len(idx) > 0 {
				col := rec.Column(idx[0])
				for i := 0; i < col.Len(); i++ {
					if !col.IsNull(i) {
						have[col.ValueStr(i)] = true
					}
				}
			}
			rec.Release()
		}
		if page.Done {
			break
		}
		req.Checkpoint = page.Checkpoint
	}
	var missing []string
	for _, t := range r.Topics {
		if !have[t] {
			missing = append(missing, t)
		}
	}
	sort.Strings(missing)
	return missing, nil
}
