package tokens

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2/search/query"

	tq "github.com/reactord/reactord/tokens/internal/query"
)

// QueryError is a search query the caller got wrong (the API answers 400).
type QueryError struct{ Msg string }

func (e *QueryError) Error() string { return e.Msg }

func queryErrorf(format string, a ...any) error { return &QueryError{Msg: fmt.Sprintf(format, a...)} }

// SearchableFields are the fields a search query may name (metadata.<key> besides).
var SearchableFields = []string{"id", "type", "data", "fingerprint", "container", "created_by", "created_at", "modified_by", "modified_at", "expires_at"}

// Search returns one page (1-based, size 1 to 100) of the tenant's live tokens that
// match a Lucene-style query, newest first, with plaintext data. The language:
//
//   - field:value, field:"quoted value" (backslash escapes); the fields are id, type,
//     fingerprint, created_by, modified_by (exact), data (a case-insensitive exact
//     match of one of the token's evaluated search_indexes), metadata.<key> (case-
//     insensitive exact), container (exact, or every container under a prefix when
//     the value ends in *), created_at, modified_at, expires_at (dates);
//   - ranges on the dates: [a TO b] inclusive, {a TO b} exclusive, * for an open end,
//     values in ISO 8601 (a date alone covers that whole day: an inclusive end date
//     includes it, an exclusive start date excludes it); a date as a plain value
//     matches that day;
//   - AND (&&), OR (||), NOT (! and - as prefixes), + (required), parentheses;
//     juxtaposed clauses are alternatives unless marked + or -, as in Lucene.
//
// Not supported: wildcards other than a container's trailing *, fuzzy (~), boosts
// (^), regular expressions, ranges on non-date fields, and field-less terms.
func (s *Store) Search(ctx context.Context, tenantID, q string, page, size int) (*Page, error) {
	n, err := tq.Parse(q)
	if err != nil {
		return nil, &QueryError{Msg: err.Error()}
	}
	bq, err := s.compile(tenantID, n)
	if err != nil {
		return nil, err
	}
	return s.page(ctx, tenantID, bq, page, size)
}

// ListFilter selects tokens for List: any of IDs, any of Types, any of Containers
// (exact), any of Fingerprints, and every Metadata pair (case-insensitive values).
type ListFilter struct {
	IDs, Types, Containers, Fingerprints []string
	Metadata                             map[string]string
}

// List returns one page of the tenant's live tokens matching f, newest first, with
// plaintext data.
func (s *Store) List(ctx context.Context, tenantID string, f ListFilter, page, size int) (*Page, error) {
	var and []query.Query
	anyOf := func(field string, vals []string) {
		if len(vals) == 0 {
			return
		}
		or := make([]query.Query, len(vals))
		for i, v := range vals {
			or[i] = term(field, v)
		}
		and = append(and, query.NewDisjunctionQuery(or))
	}
	anyOf("id", f.IDs)
	anyOf("type", f.Types)
	anyOf("container", f.Containers)
	anyOf("fingerprint", f.Fingerprints)
	for k, v := range f.Metadata {
		and = append(and, term("metadata."+k, strings.ToLower(v)))
	}
	var q query.Query = query.NewMatchAllQuery()
	if len(and) > 0 {
		q = query.NewConjunctionQuery(and)
	}
	return s.page(ctx, tenantID, q, page, size)
}

func (s *Store) page(ctx context.Context, tenantID string, q query.Query, page, size int) (*Page, error) {
	if page < 1 || size < 1 || size > 100 {
		return nil, queryErrorf("page must be >= 1 and size 1 to 100")
	}
	keys, total, err := s.search(ctx, tenantID, q, page, size)
	if err != nil {
		return nil, err
	}
	toks, err := s.fetch(ctx, keys)
	if err != nil {
		return nil, err
	}
	return &Page{Tokens: toks, Total: total}, nil
}

func term(field, v string) query.Query {
	q := query.NewTermQuery(v)
	q.SetField(field)
	return q
}

// compile turns a parsed query into a bleve query, giving each field its meaning.
func (s *Store) compile(tenantID string, n tq.Node) (query.Query, error) {
	switch n := n.(type) {
	case tq.All:
		return query.NewMatchAllQuery(), nil
	case tq.And:
		var must, not []query.Query
		for _, c := range n.Nodes {
			if neg, ok := c.(tq.Not); ok {
				q, err := s.compile(tenantID, neg.Node)
				if err != nil {
					return nil, err
				}
				not = append(not, q)
				continue
			}
			q, err := s.compile(tenantID, c)
			if err != nil {
				return nil, err
			}
			must = append(must, q)
		}
		if len(must) == 0 {
			must = []query.Query{query.NewMatchAllQuery()}
		}
		if len(not) == 0 {
			return query.NewConjunctionQuery(must), nil
		}
		return query.NewBooleanQuery(must, nil, not), nil
	case tq.Or:
		or := make([]query.Query, len(n.Nodes))
		for i, c := range n.Nodes {
			q, err := s.compile(tenantID, c)
			if err != nil {
				return nil, err
			}
			or[i] = q
		}
		return query.NewDisjunctionQuery(or), nil
	case tq.Not:
		q, err := s.compile(tenantID, n.Node)
		if err != nil {
			return nil, err
		}
		return query.NewBooleanQuery([]query.Query{query.NewMatchAllQuery()}, nil, []query.Query{q}), nil
	case tq.Term:
		return s.termQuery(tenantID, n)
	case tq.Range:
		if !isDate(n.Field) {
			return nil, queryErrorf("ranges are supported on created_at, modified_at and expires_at, not %s", n.Field)
		}
		var lo, hi time.Time
		var err error
		incLo, incHi := n.IncLo, n.IncHi
		if n.Lo != "" {
			var day bool
			if lo, day, err = queryTime(n.Lo); err != nil {
				return nil, err
			}
			if day && !incLo { // after that day
				lo, incLo = lo.AddDate(0, 0, 1), true
			}
		}
		if n.Hi != "" {
			var day bool
			if hi, day, err = queryTime(n.Hi); err != nil {
				return nil, err
			}
			if day && incHi { // through that day
				hi, incHi = hi.AddDate(0, 0, 1), false
			}
		}
		if lo.IsZero() && hi.IsZero() { // [* TO *]: any value
			lo = time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		return dateRange(n.Field, lo, hi, incLo, incHi), nil
	}
	return nil, queryErrorf("unsupported query")
}

func (s *Store) termQuery(tenantID string, t tq.Term) (query.Query, error) {
	f, v := t.Field, t.Value
	if f != "container" && strings.Contains(v, "*") {
		return nil, queryErrorf("wildcards are supported only at the end of a container term, not in %s:%s", f, v)
	}
	switch {
	case f == "data":
		return term("data", s.blindIndex(tenantID, v)), nil
	case f == "container":
		if prefix, ok := strings.CutSuffix(v, "*"); ok {
			if strings.Contains(prefix, "*") {
				return nil, queryErrorf("the wildcard * may only end a container term: %s", v)
			}
			q := query.NewPrefixQuery(prefix)
			q.SetField("container")
			return q, nil
		}
		return term("container", v), nil
	case strings.HasPrefix(f, "metadata.") && len(f) > len("metadata."):
		return term(f, strings.ToLower(v)), nil
	case isDate(f):
		at, day, err := queryTime(v)
		if err != nil {
			return nil, err
		}
		if day {
			return dateRange(f, at, at.AddDate(0, 0, 1), true, false), nil
		}
		return dateRange(f, at, at, true, true), nil
	case slices.Contains(SearchableFields, f):
		return term(f, v), nil
	}
	return nil, queryErrorf("unknown field %q; searchable fields: %s, metadata.<key>", f, strings.Join(SearchableFields, ", "))
}

func isDate(f string) bool { return f == "created_at" || f == "modified_at" || f == "expires_at" }

func dateRange(field string, lo, hi time.Time, incLo, incHi bool) query.Query {
	q := query.NewDateRangeInclusiveQuery(lo, hi, &incLo, &incHi)
	q.SetField(field)
	return q
}

// queryTime parses an ISO 8601 date (day true) or date-time, UTC unless it says.
func queryTime(v string) (time.Time, bool, error) {
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, true, nil
	}
	for _, f := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(f, v); err == nil {
			if t.Year() < 1700 || t.Year() > 2200 {
				break
			}
			return t.UTC(), false, nil
		}
	}
	return time.Time{}, false, queryErrorf("%q is not an ISO 8601 date or date-time (years 1700 to 2200)", v)
}

// IsQueryError reports whether err is the caller's query or paging mistake.
func IsQueryError(err error) bool {
	var qe *QueryError
	return errors.As(err, &qe)
}
