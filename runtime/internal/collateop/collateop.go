// Package collateop implements the layer's `collate` host operation: Intl.Collator and
// String.prototype.localeCompare compare strings with golang.org/x/text/collate (CLDR
// collation), since FormatJS has no Collator.
package collateop

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// Options are the resolved options of one Intl.Collator, as the layer sends them.
type Options struct {
	Locale            string
	Sensitivity       string // base, accent, case or variant
	Numeric           bool
	CaseFirst         string // upper, lower or false; x/text has no case-first ordering
	IgnorePunctuation bool
	Usage             string // sort or search; x/text has no search tailorings
}

// maxCached bounds the distinct option sets kept; beyond it collators are built per call.
const maxCached = 256

var (
	mu    sync.Mutex
	pools = map[Options]*sync.Pool{}
)

// Compare performs the `collate` op: arg is the JSON array [options, a, b] where
// options is [locale, sensitivity, numeric, caseFirst, ignorePunctuation, usage]; the
// result is "-1", "0" or "1".
func Compare(arg []byte) ([]byte, error) {
	var req [3]json.RawMessage
	if err := json.Unmarshal(arg, &req); err != nil {
		return nil, fmt.Errorf("collate: %w", err)
	}
	var key string
	var a, b string
	if err := errors.Join(json.Unmarshal(req[0], &key), json.Unmarshal(req[1], &a), json.Unmarshal(req[2], &b)); err != nil {
		return nil, fmt.Errorf("collate: %w", err)
	}
	var o Options
	fields := []any{&o.Locale, &o.Sensitivity, &o.Numeric, &o.CaseFirst, &o.IgnorePunctuation, &o.Usage}
	if err := json.Unmarshal([]byte(key), &fields); err != nil {
		return nil, fmt.Errorf("collate: options: %w", err)
	}
	switch CompareStrings(o, a, b) {
	case -1:
		return []byte("-1"), nil
	case 1:
		return []byte("1"), nil
	}
	return []byte("0"), nil
}

// CompareStrings compares a and b under o: -1, 0 or 1.
func CompareStrings(o Options, a, b string) int {
	if o.IgnorePunctuation {
		// CLDR's alternate=shifted ignores spaces and punctuation; x/text's returns 0
		// for every pair, so they are removed here instead.
		a, b = stripPunctuation(a), stripPunctuation(b)
	}
	c := compare(o, a, b)
	if c != 0 && o.CaseFirst == "upper" && (o.Sensitivity == "variant" || o.Sensitivity == "case" || o.Sensitivity == "") {
		// x/text orders lower case first (CLDR's default) and has no option for upper
		// first: strings that differ only in case are swapped.
		caseless := o
		caseless.CaseFirst = "false"
		caseless.Sensitivity = "accent"
		if o.Sensitivity == "case" {
			caseless.Sensitivity = "base"
		}
		if compare(caseless, a, b) == 0 {
			return -c
		}
	}
	return c
}

func compare(o Options, a, b string) int {
	if o.Sensitivity == "case" {
		// letters and case, not accents: x/text's IgnoreDiacritics still sees a
		// combining mark's tertiary weight, so accents are removed for the case level
		baseOnly := o
		baseOnly.Sensitivity = "base"
		if c := compare(baseOnly, a, b); c != 0 {
			return c
		}
		o.Sensitivity = "variant"
		a, b = stripMarks(a), stripMarks(b)
	}
	p := pool(o)
	c := p.Get().(*collate.Collator) // a Collator keeps buffers: one goroutine at a time
	defer p.Put(c)
	return c.CompareString(a, b)
}

func stripMarks(s string) string {
	return norm.NFC.String(strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, norm.NFD.String(s)))
}

func stripPunctuation(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPunct(r) || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func pool(o Options) *sync.Pool {
	o.IgnorePunctuation = false // handled before comparing
	mu.Lock()
	defer mu.Unlock()
	if p, ok := pools[o]; ok {
		return p
	}
	p := &sync.Pool{New: func() any { return newCollator(o) }}
	if len(pools) < maxCached {
		pools[o] = p
	}
	return p
}

// newCollator maps ECMA-402's sensitivity onto CLDR's collation strengths (UTS #35):
// base compares letters only (x/text's Loose), accent also accents (IgnoreCase),
// variant everything; case (letters and case) is a base comparison, then a variant one
// without accents (see compare).
func newCollator(o Options) *collate.Collator {
	tag, err := language.Parse(o.Locale)
	if err != nil {
		tag = language.AmericanEnglish
	}
	base, _ := tag.Base()
	t := language.Make(base.String())
	if region, conf := tag.Region(); conf == language.Exact && region.IsCountry() {
		if tr, err := language.Compose(base, region); err == nil {
			t = tr
		}
	}
	var opts []collate.Option
	switch o.Sensitivity {
	case "base":
		opts = append(opts, collate.Loose)
	case "accent":
		opts = append(opts, collate.IgnoreCase)
	}
	if o.Numeric {
		opts = append(opts, collate.Numeric)
	}
	return collate.New(t, opts...)
}
