package admin

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/store"
)

// Consumer groups as go-kong and decK use them (Kong Enterprise's
// /consumer_groups API): the groups themselves are generated CRUD; the
// memberships (consumer_group_consumers) are managed here, under
// /consumer_groups/{g}/consumers and /consumers/{c}/consumer_groups.

// GetConsumerGroup returns GET /consumer_groups/{g}: the group, its
// consumers (unless withConsumers is false) and the plugins scoped to it.
func (s *Service) GetConsumerGroup(ctx context.Context, key string, withConsumers bool) (map[string]any, error) {
	gt := s.cat.Type(entity.ConsumerGroups)
	g, _, err := s.lookup(ctx, s.store, gt, key)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, ErrNotFound
	}
	group, err := s.present(ctx, s.store, gt, g, nil)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"consumer_group": group}
	if withConsumers {
		consumers := []map[string]any{}
		err := s.eachMember(ctx, s.store, idOf(g), func(c map[string]any) error {
			consumers = append(consumers, c)
			return nil
		})
		if err != nil {
			return nil, err
		}
		out["consumers"] = consumers
	}
	plugins := []map[string]any{}
	pt := s.cat.Type(entity.Plugins)
	err = eachChild(ctx, s.store, entity.Plugins, entity.ConsumerGroups, idOf(g), "consumer_group", func(p map[string]any) error {
		pp, err := s.present(ctx, s.store, pt, p, nil)
		plugins = append(plugins, pp)
		return err
	})
	if err != nil {
		return nil, err
	}
	out["plugins"] = plugins
	return out, nil
}

// eachMember calls fn with every consumer of a group.
func (s *Service) eachMember(ctx context.Context, r reader, groupID string, fn func(map[string]any) error) error {
	ct := s.cat.Type(entity.Consumers)
	return eachChild(ctx, r, entity.ConsumerGroupConsumers, entity.ConsumerGroups, groupID, "consumer_group", func(m map[string]any) error {
		c, err := r.Get(ctx, entity.Consumers, foreignID(m["consumer"]))
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		pc, err := s.present(ctx, r, ct, c, nil)
		if err != nil {
			return err
		}
		return fn(pc)
	})
}

// ListGroupConsumers is GET /consumer_groups/{g}/consumers: a page of the
// group's consumers.
func (s *Service) ListGroupConsumers(ctx context.Context, group string, opts ListOptions) (Page, error) {
	return s.listMembers(ctx, entity.ConsumerGroups, group, "consumer_group", "consumer", entity.Consumers, opts)
}

// ListConsumerGroupsOf is GET /consumers/{c}/consumer_groups: a page of
// the groups a consumer belongs to.
func (s *Service) ListConsumerGroupsOf(ctx context.Context, consumer string, opts ListOptions) (Page, error) {
	return s.listMembers(ctx, entity.Consumers, consumer, "consumer", "consumer_group", entity.ConsumerGroups, opts)
}

// listMembers pages through the memberships of the entity of type
// fromType named key (by field), showing the entities at the other side
// (otherField, of otherType).
func (s *Service) listMembers(ctx context.Context, fromType, key, field, otherField, otherType string, opts ListOptions) (Page, error) {
	from, _, err := s.lookup(ctx, s.store, s.cat.Type(fromType), key)
	if err != nil {
		return Page{}, err
	}
	if from == nil {
		return Page{}, ErrNotFound
	}
	page, err := s.store.List(ctx, entity.ConsumerGroupConsumers, store.ListQuery{
		Size: opts.Size, Offset: opts.Offset, ParentType: fromType, ParentID: idOf(from), Field: field,
	})
	if err != nil {
		return Page{}, err
	}
	ot := s.cat.Type(otherType)
	out := Page{Data: []map[string]any{}, Offset: page.Offset}
	for _, m := range page.Data {
		e, err := s.store.Get(ctx, otherType, foreignID(m[otherField]))
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return Page{}, err
		}
		pe, err := s.present(ctx, s.store, ot, e, nil)
		if err != nil {
			return Page{}, err
		}
		out.Data = append(out.Data, pe)
	}
	return out, nil
}

// AddGroupConsumers is POST /consumer_groups/{g}/consumers with
// {"consumer": "<username or id>"} or a list of them (go-kong sends
// ["name"]). It answers 201 {"consumer_group": ..., "consumers": [...]}.
func (s *Service) AddGroupConsumers(ctx context.Context, group string, in Input) (map[string]any, error) {
	refs, err := memberRefs(in.Fields, "consumer")
	if err != nil {
		return nil, err
	}
	var out map[string]any
	_, err = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		g, err := s.mustFind(ctx, tx, entity.ConsumerGroups, group, "Consumer group")
		if err != nil {
			return err
		}
		var added []map[string]any
		for _, r := range refs {
			c, err := s.mustFind(ctx, tx, entity.Consumers, r, "Consumer")
			if err != nil {
				return err
			}
			if err := s.addMember(ctx, tx, g, c); err != nil {
				return err
			}
			pc, err := s.present(ctx, tx, s.cat.Type(entity.Consumers), c, nil)
			if err != nil {
				return err
			}
			added = append(added, pc)
		}
		pg, err := s.present(ctx, tx, s.cat.Type(entity.ConsumerGroups), g, nil)
		out = map[string]any{"consumer_group": pg, "consumers": added}
		return err
	})
	return out, err
}

// AddConsumerToGroups is POST /consumers/{c}/consumer_groups with
// {"group": "<name or id>"} or a list of them. It answers 201
// {"consumer": ..., "consumer_groups": [...]}.
func (s *Service) AddConsumerToGroups(ctx context.Context, consumer string, in Input) (map[string]any, error) {
	refs, err := memberRefs(in.Fields, "group")
	if err != nil {
		return nil, err
	}
	var out map[string]any
	_, err = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		c, err := s.mustFind(ctx, tx, entity.Consumers, consumer, "Consumer")
		if err != nil {
			return err
		}
		var added []map[string]any
		for _, r := range refs {
			g, err := s.mustFind(ctx, tx, entity.ConsumerGroups, r, "Consumer group")
			if err != nil {
				return err
			}
			if err := s.addMember(ctx, tx, g, c); err != nil {
				return err
			}
			pg, err := s.present(ctx, tx, s.cat.Type(entity.ConsumerGroups), g, nil)
			if err != nil {
				return err
			}
			added = append(added, pg)
		}
		pc, err := s.present(ctx, tx, s.cat.Type(entity.Consumers), c, nil)
		out = map[string]any{"consumer": pc, "consumer_groups": added}
		return err
	})
	return out, err
}

// memberRefs reads the member references of a membership POST: a string
// or a list of strings.
func memberRefs(fields map[string]any, key string) ([]string, error) {
	var refs []string
	switch v := fields[key].(type) {
	case string:
		refs = []string{v}
	case []any:
		for _, el := range v {
			s, ok := el.(string)
			if !ok {
				return nil, schema.SchemaViolation(schema.Errors{key: "expected a string"})
			}
			refs = append(refs, s)
		}
	case nil:
	default:
		return nil, schema.SchemaViolation(schema.Errors{key: "expected a string"})
	}
	if slices.Contains(refs, "") {
		return nil, schema.SchemaViolation(schema.Errors{key: "expected a non-empty string"})
	}
	if len(refs) == 0 {
		return nil, message(http.StatusBadRequest, "must provide "+key)
	}
	return refs, nil
}

// mustFind resolves a path segment or body reference, answering
// "<what> '<key>' not found" (404) when nothing matches.
func (s *Service) mustFind(ctx context.Context, r reader, typ, key, what string) (map[string]any, error) {
	e, _, err := s.lookup(ctx, r, s.cat.Type(typ), key)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, message(http.StatusNotFound, fmt.Sprintf("%s '%s' not found", what, key))
	}
	return e, nil
}

// addMember adds a consumer to a group; a consumer already in the group
// is a 409, as in Kong.
func (s *Service) addMember(ctx context.Context, tx *store.Tx, group, consumer map[string]any) error {
	mt := s.cat.Type(entity.ConsumerGroupConsumers)
	id := entity.MembershipID(strings.ToLower(idOf(group)), strings.ToLower(idOf(consumer)))
	if _, err := tx.Get(ctx, mt.Name, id); err == nil {
		name := idOf(group)
		if n, ok := group["name"].(string); ok {
			name = n
		}
		who := idOf(consumer)
		if u, ok := consumer["username"].(string); ok {
			who = u
		}
		return message(http.StatusConflict, fmt.Sprintf("Consumer '%s' already in group '%s'", who, name))
	} else if !isNotFound(err) {
		return err
	}
	m, verr := mt.Write(map[string]any{"consumer_group": ref(group), "consumer": ref(consumer)}, schema.Insert, tx.Now())
	if verr != nil {
		return verr
	}
	return tx.Insert(ctx, mt.Name, m, store.PutOptions{})
}

// GetGroupConsumer is GET /consumer_groups/{g}/consumers/{c}: the consumer
// when it is in the group, else ErrNotFound.
func (s *Service) GetGroupConsumer(ctx context.Context, group, consumer string) (map[string]any, error) {
	g, c, member, err := s.membership(ctx, s.store, group, consumer)
	if err != nil {
		return nil, err
	}
	if g == nil || c == nil || member == nil {
		return nil, ErrNotFound
	}
	return s.present(ctx, s.store, s.cat.Type(entity.Consumers), c, nil)
}

// RemoveGroupConsumer is DELETE /consumer_groups/{g}/consumers/{c} (and
// /consumers/{c}/consumer_groups/{g}): 404 when the group or the consumer
// does not exist, 204 otherwise.
func (s *Service) RemoveGroupConsumer(ctx context.Context, group, consumer string) error {
	_, err := s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		g, c, member, err := s.membership(ctx, tx, group, consumer)
		if err != nil {
			return err
		}
		if g == nil || c == nil {
			return ErrNotFound
		}
		if member == nil {
			return nil
		}
		_, err = tx.Delete(ctx, entity.ConsumerGroupConsumers, idOf(member))
		return err
	})
	return err
}

// RemoveAllGroupConsumers is DELETE /consumer_groups/{g}/consumers: the
// group is emptied.
func (s *Service) RemoveAllGroupConsumers(ctx context.Context, group string) error {
	_, err := s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		g, _, err := s.lookup(ctx, tx, s.cat.Type(entity.ConsumerGroups), group)
		if err != nil {
			return err
		}
		if g == nil {
			return ErrNotFound
		}
		var ids []string
		err = eachChild(ctx, tx, entity.ConsumerGroupConsumers, entity.ConsumerGroups, idOf(g), "consumer_group", func(m map[string]any) error {
			ids = append(ids, idOf(m))
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.Delete(ctx, entity.ConsumerGroupConsumers, id); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// membership resolves a group, a consumer and their membership (each nil
// when missing).
func (s *Service) membership(ctx context.Context, r reader, group, consumer string) (g, c, m map[string]any, err error) {
	g, _, err = s.lookup(ctx, r, s.cat.Type(entity.ConsumerGroups), group)
	if err != nil || g == nil {
		return nil, nil, nil, err
	}
	c, _, err = s.lookup(ctx, r, s.cat.Type(entity.Consumers), consumer)
	if err != nil || c == nil {
		return g, nil, nil, err
	}
	id := entity.MembershipID(strings.ToLower(idOf(g)), strings.ToLower(idOf(c)))
	m, err = r.Get(ctx, entity.ConsumerGroupConsumers, id)
	if isNotFound(err) {
		return g, c, nil, nil
	}
	return g, c, m, err
}
