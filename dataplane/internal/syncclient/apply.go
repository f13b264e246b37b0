package syncclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/telemetry"
)

// applySnapshot takes the data plane to a whole configuration, and returns
// the answer: Ack or Nack.
func (c *Client) applySnapshot(ctx context.Context, m *protocol.Snapshot, received time.Time) protocol.Message {
	ctx, span := c.startApply(ctx, protocol.TypeSnapshot, m.Revision, m.Trace)
	defer span.End()
	c.snapshotRequested = false
	cur := c.holder.Load()
	if cur.Loaded() && cur.Revision() == m.Revision && cur.ConfigHash() == m.ConfigHash && cur.Digest() == m.Digest {
		c.log.Debug("same config received from control plane, no need to reload")
		return c.done(span, Applied{Kind: protocol.TypeSnapshot, Revision: m.Revision, Entities: cur.Set().Len(), Received: received},
			ack(cur))
	}
	set, err := configset.FromEntities(m.Revision, m.Entities)
	if err != nil {
		return c.refuse(span, protocol.TypeSnapshot, m.Revision, received, fmt.Errorf("snapshot: %w", err))
	}
	if got := set.Hash(); got != m.Digest {
		// The control plane sent what it meant to: asking again would get
		// the same. Refuse, and wait for a newer revision.
		return c.refuse(span, protocol.TypeSnapshot, m.Revision, received,
			fmt.Errorf("digest mismatch: snapshot of revision %d hashes to %s, the control plane says %s", m.Revision, got, m.Digest))
	}
	rt, err := c.builder.Build(ctx, set, m.ConfigHash)
	if err != nil {
		return c.refuse(span, protocol.TypeSnapshot, m.Revision, received, err)
	}
	if err := c.store.SaveSnapshot(ctx, set, m.ConfigHash); err != nil {
		return c.refuse(span, protocol.TypeSnapshot, m.Revision, received, fmt.Errorf("persist: %w", err))
	}
	c.cacheDigest = set.Hash()
	c.holder.Swap(rt)
	return c.swapped(span, protocol.TypeSnapshot, rt, received)
}

// applyDelta takes the data plane from the revision it holds to the
// delta's, and returns the answer: Ack, Nack or SnapshotRequest.
func (c *Client) applyDelta(ctx context.Context, m *protocol.Delta, received time.Time) protocol.Message {
	ctx, span := c.startApply(ctx, protocol.TypeDelta, m.Revision, m.Trace)
	defer span.End()
	span.SetAttributes(attribute.Int("gatehouse.changes", len(m.Changes)))
	cur := c.holder.Load()
	if cur.Revision() != m.FromRevision {
		return c.mismatch(span, cur, m, received,
			fmt.Sprintf("delta from revision %d, but the data plane holds revision %d", m.FromRevision, cur.Revision()))
	}
	next := cur.Set().Clone()
	if err := next.Apply(m.Changes); err != nil {
		return c.refuse(span, protocol.TypeDelta, m.Revision, received, fmt.Errorf("delta: %w", err))
	}
	next.Revision = m.Revision
	if got := next.Hash(); got != m.Digest {
		return c.mismatch(span, cur, m, received,
			fmt.Sprintf("digest mismatch: revision %d after the delta hashes to %s, the control plane says %s", m.Revision, got, m.Digest))
	}
	rt, err := c.builder.Update(ctx, cur, next, m.ConfigHash, m.Changes)
	if err != nil {
		return c.refuse(span, protocol.TypeDelta, m.Revision, received, err)
	}
	// A delta is persisted as one only on top of what the store holds;
	// a runtime from a declarative file is not in the store.
	if c.cacheDigest == cur.Digest() {
		err = c.store.SaveDelta(ctx, m.Changes, m.Revision, m.ConfigHash, m.Digest)
	} else {
		err = c.store.SaveSnapshot(ctx, next, m.ConfigHash)
	}
	if err != nil {
		return c.refuse(span, protocol.TypeDelta, m.Revision, received, fmt.Errorf("persist: %w", err))
	}
	c.cacheDigest = m.Digest
	c.holder.Swap(rt)
	return c.swapped(span, protocol.TypeDelta, rt, received)
}

// mismatch answers a delta that does not fit: a SnapshotRequest the first
// time, a Nack if a snapshot was already asked for and has not come.
func (c *Client) mismatch(span trace.Span, cur *gateway.Runtime, m *protocol.Delta, received time.Time, reason string) protocol.Message {
	if c.snapshotRequested {
		return c.refuse(span, protocol.TypeDelta, m.Revision, received, errors.New(reason+" (a snapshot was already requested)"))
	}
	c.snapshotRequested = true
	c.log.Warn(reason + "; requesting a snapshot")
	span.SetAttributes(attribute.String("gatehouse.outcome", "snapshot_request"))
	c.observe(Applied{
		Kind: protocol.TypeDelta, Revision: m.Revision, Entities: cur.Set().Len(), Received: received,
		Reply: protocol.TypeSnapshotRequest, Err: errors.New(reason),
	})
	return &protocol.SnapshotRequest{Revision: cur.Revision(), Reason: reason}
}

// refuse answers with a Nack carrying err, and records it.
func (c *Client) refuse(span trace.Span, kind protocol.Type, revision int64, received time.Time, err error) protocol.Message {
	now := time.Now()
	c.state.SyncFailed(now, err.Error())
	c.log.Error("unable to update running config: bad config received from control plane "+err.Error(),
		slog.Int64("revision", revision))
	span.SetStatus(codes.Error, err.Error())
	span.SetAttributes(attribute.String("gatehouse.outcome", "nack"))
	var fields map[string]string
	if verr, ok := errors.AsType[*gateway.ValidationError](err); ok {
		fields = verr.Fields
	}
	c.observe(Applied{
		Kind: kind, Revision: revision, Entities: c.holder.Load().Set().Len(), Received: received,
		Reply: protocol.TypeNack, Err: err,
	})
	return protocol.NewNack(revision, err.Error(), fields)
}

// swapped records a runtime swapped in and returns its Ack.
func (c *Client) swapped(span trace.Span, kind protocol.Type, rt *gateway.Runtime, received time.Time) protocol.Message {
	now := time.Now()
	c.state.Synced(now)
	c.log.Info(fmt.Sprintf("applied configuration revision %d from control plane in %s", rt.Revision(), now.Sub(received).Round(time.Microsecond)),
		slog.Int64("revision", rt.Revision()), slog.String("config_hash", rt.ConfigHash()), slog.Int("entities", rt.Set().Len()))
	return c.done(span, Applied{Kind: kind, Revision: rt.Revision(), Entities: rt.Set().Len(), Received: received, Swapped: now}, ack(rt))
}

func (c *Client) done(span trace.Span, a Applied, reply protocol.Message) protocol.Message {
	if a.Swapped.IsZero() {
		c.state.Synced(time.Now())
	}
	a.Reply = reply.Type()
	span.SetAttributes(attribute.String("gatehouse.outcome", "ack"), attribute.Int("gatehouse.entities", a.Entities))
	c.observe(a)
	return reply
}

func (c *Client) observe(a Applied) {
	if c.opts.Observe != nil {
		c.opts.Observe(a)
	}
}

func ack(rt *gateway.Runtime) *protocol.Ack {
	return &protocol.Ack{Revision: rt.Revision(), ConfigHash: rt.ReportedHash(), Digest: rt.Digest()}
}

// startApply starts the span of an apply, a child of the trace of the
// change that made the revision, so the Admin API request, sync-hub's push
// and each data plane's apply are one trace.
func (c *Client) startApply(ctx context.Context, kind protocol.Type, revision int64, carrier map[string]string) (context.Context, trace.Span) {
	if len(carrier) > 0 {
		ctx = telemetry.Extract(ctx, carrier)
	}
	return c.tracer.Start(ctx, "dataplane apply "+string(kind),
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("gatehouse.message", string(kind)),
			attribute.Int64("gatehouse.revision", revision),
			attribute.String("gatehouse.node_id", c.opts.Identity.NodeID),
		))
}
