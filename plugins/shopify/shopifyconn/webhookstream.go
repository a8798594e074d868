package shopifyconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/webhookinbox"
)

// WebhookStream is the stream of a source with a webhooks: block: the
// events in its inbox, in inbox order.
const WebhookStream = "webhook_events"

// Page bounds of webhook_events: at most defaultInboxPage events (or the
// host's MaxRows) and about defaultInboxBytes (or MaxBytes), read
// inboxChunk events at a time.
const (
	defaultInboxPage  = 1000
	defaultInboxBytes = 8 << 20
	inboxChunk        = 50
)

var webhookSchema = arrow.NewSchema([]arrow.Field{
	{Name: "position", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "event_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "webhook_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "topic", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "shop_domain", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "triggered_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "api_version", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "received_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "reconciled", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "payload", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func webhookStreamInfo() sdk.Stream {
	return sdk.Stream{Name: WebhookStream, Schema: webhookSchema, PrimaryKey: []string{"event_id"}, CursorFields: []string{"position"}}
}

// inboxCheckpoint is a webhook_events read's position: the events after
// After and at most Until (the inbox's last position when the read began,
// so a read ends while deliveries keep arriving), and the greatest position
// returned so far (Max, 0 before any).
type inboxCheckpoint struct {
	After int64 `json:"after"`
	Until int64 `json:"until"`
	Max   int64 `json:"max,omitempty"`
}

// inbox opens the session's inbox once (a PostgreSQL pool is kept; the
// bolt file is opened per call anyway).
func (s *session) inbox(ctx context.Context) (webhookinbox.Inbox, error) {
	s.inboxMu.Lock()
	defer s.inboxMu.Unlock()
	if s.inboxOpen != nil {
		return s.inboxOpen, nil
	}
	in, err := webhookinbox.Open(ctx, s.cfg.Webhooks.Inbox, false)
	if err != nil {
		if errors.Is(err, webhookinbox.ErrNotFound) {
			return nil, errclass.Permanentf("stream %s: %v", WebhookStream, err)
		}
		return nil, errclass.Transientf("stream %s: %v", WebhookStream, err)
	}
	s.inboxOpen = in
	return in, nil
}

// readInbox reads one page of webhook_events. An incremental read names
// position as its cursor and starts after the stored one.
func (s *session) readInbox(ctx context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	if req.CursorField != "" && req.CursorField != "position" {
		return sdk.Page{}, errclass.Permanentf("stream %s is incremental on position (the inbox order), not %q", WebhookStream, req.CursorField)
	}
	in, err := s.inbox(ctx)
	if err != nil {
		return sdk.Page{}, err
	}
	var cp inboxCheckpoint
	if len(req.Checkpoint) > 0 {
		if err := json.Unmarshal(req.Checkpoint, &cp); err != nil {
			return sdk.Page{}, errclass.Permanentf("stream %s: checkpoint %q is not one this connector wrote", WebhookStream, string(req.Checkpoint))
		}
	} else {
		if req.CursorField != "" && len(req.CursorValue) > 0 && string(req.CursorValue) != "null" {
			after, err := strconv.ParseInt(string(req.CursorValue), 10, 64)
			if err != nil {
				return sdk.Page{}, errclass.Permanentf("stream %s: stored cursor %s is not a position", WebhookStream, string(req.CursorValue))
			}
			cp.After = after
		}
		last, err := in.Last(ctx)
		if err != nil {
			return sdk.Page{}, errclass.Transientf("stream %s: %v", WebhookStream, err)
		}
		if cp.After > last {
			return sdk.Page{}, errclass.Permanentf("stream %s: the stored position %d is past the inbox's last one (%d): "+
				"the flow's cursor belongs to another inbox (was webhooks.inbox changed?); reset it with `sqlflow-host state reset FILE FLOW`",
				WebhookStream, cp.After, last)
		}
		cp.Until = last
	}
	limit := defaultInboxPage
	if req.MaxRows > 0 && req.MaxRows < int64(limit) {
		limit = int(req.MaxRows)
	}
	maxBytes := req.MaxBytes
	if maxBytes <= 0 {
		maxBytes = defaultInboxBytes
	}
	// Read in chunks so the page stops near maxBytes (bodies may be up to
	// max_body_bytes each) and the bolt file is held for one chunk at a time.
	var evs []webhookinbox.Event
	var size int64
	after := cp.After
	exhausted := after >= cp.Until
	for !exhausted && len(evs) < limit && size < maxBytes {
		n := min(limit-len(evs), inboxChunk)
		got, err := in.Read(ctx, after, cp.Until, n)
		if err != nil {
			return sdk.Page{}, errclass.Transientf("stream %s: %v", WebhookStream, err)
		}
		exhausted = len(got) < n
		for i, ev := range got {
			evs = append(evs, ev)
			after = ev.Position
			size += int64(len(ev.Payload) + len(ev.EventID) + len(ev.WebhookID) + len(ev.Topic) + len(ev.ShopDomain) + 64)
			if size >= maxBytes && i < len(got)-1 {
				exhausted = false // the rest of this chunk is read by the next page
				break
			}
		}
	}
	rec := webhookBatch(evs)
	next := cp
	next.After = after
	if len(evs) > 0 {
		next.Max = after
	}
	done := exhausted || after >= cp.Until
	if done {
		next.After = cp.Until
	}
	b, _ := json.Marshal(next)
	page := sdk.Page{Records: rec, Checkpoint: b, Done: done}
	if req.CursorField != "" && next.Max > 0 {
		page.CursorValue = json.RawMessage(strconv.FormatInt(next.Max, 10))
	}
	return page, nil
}

// webhookBatch builds the Arrow batch of evs.
func webhookBatch(evs []webhookinbox.Event) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, webhookSchema)
	defer b.Release()
	str := func(i int, v string) { b.Field(i).(*array.StringBuilder).Append(v) }
	for _, ev := range evs {
		b.Field(0).(*array.Int64Builder).Append(ev.Position)
		str(1, ev.EventID)
		str(2, ev.WebhookID)
		str(3, ev.Topic)
		str(4, ev.ShopDomain)
		if ev.TriggeredAt.IsZero() {
			b.Field(5).AppendNull()
		} else {
			b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(ev.TriggeredAt.UnixMicro()))
		}
		str(6, ev.APIVersion)
		b.Field(7).(*array.TimestampBuilder).Append(arrow.Timestamp(ev.ReceivedAt.UnixMicro()))
		b.Field(8).(*array.BooleanBuilder).Append(ev.Reconciled)
		str(9, string(ev.Payload))
	}
	return b.NewRecordBatch()
}

// closeInbox releases the session's inbox, if open.
func (s *session) closeInbox() {
	s.inboxMu.Lock()
	defer s.inboxMu.Unlock()
	if s.inboxOpen != nil {
		_ = s.inboxOpen.Close() // both inboxes' Close returns nil
		s.inboxOpen = nil
	}
}

// SubscriptionsStream lists the shop's webhook subscriptions, so
// `sqlflow-host webhooks reconcile` can report the ones Shopify removed. It
// is read through the REST Admin API's webhooks.json (whichever api the
// source reads objects with), one page of at most 250.
const SubscriptionsStream = "webhook_subscriptions"

var subscriptionSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "topic", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "address", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "format", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "api_version", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func subscriptionStreamInfo() sdk.Stream {
	return sdk.Stream{Name: SubscriptionsStream, Schema: subscriptionSchema, PrimaryKey: []string{"id"}}
}

// readSubscriptions reads the subscriptions: one request, one page.
func (s *session) readSubscriptions(ctx context.Context) (sdk.Page, error) {
	body, _, hints, err := s.get(ctx, "webhooks.json?limit=250")
	if err != nil {
		return sdk.Page{RateHints: hints}, fmt.Errorf("stream %q: %w", SubscriptionsStream, err)
	}
	list, _ := body["webhooks"].([]any)
	b := array.NewRecordBuilder(memory.DefaultAllocator, subscriptionSchema)
	defer b.Release()
	for _, item := range list {
		m, _ := item.(map[string]any)
		if n, ok := m["id"].(json.Number); ok {
			if id, err := n.Int64(); err == nil {
				b.Field(0).(*array.Int64Builder).Append(id)
			} else {
				b.Field(0).AppendNull()
			}
		} else {
			b.Field(0).AppendNull()
		}
		for i, k := range []string{"topic", "address", "format", "api_version"} {
			if v, ok := m[k].(string); ok {
				b.Field(i + 1).(*array.StringBuilder).Append(v)
			} else {
				b.Field(i + 1).AppendNull()
			}
		}
	}
	return sdk.Page{Records: b.NewRecordBatch(), Checkpoint: []byte(`{"done":true}`), Done: true, RateHints: hints}, nil
}
