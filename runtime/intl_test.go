package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reactord/reactord/runtime"
)

// intlLocales are the locales the images ship (images/README.md, "Intl"), as callers
// write them; xx-XX is not shipped and falls back to the default, en-US.
var intlLocales = []string{"en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "it-IT", "pt-BR", "nl-NL", "ja-JP"}

// intlCorpus builds the expressions TestIntlParity evaluates in Node and in both images.
func intlCorpus() []string {
	var c []string
	add := func(format string, args ...any) { c = append(c, fmt.Sprintf(format, args...)) }
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }

	// NumberFormat: every shipped locale with the common styles, en-US and de-DE with all
	numbers := []string{"0", "-0", "1", "-1234.5678", "1234567.891", "0.000123", "1e21", "NaN", "-Infinity"}
	common := []string{`{}`, `{style:'currency',currency:'USD'}`, `{style:'currency',currency:'EUR'}`, `{style:'percent'}`, `{notation:'compact'}`}
	all := append(common,
		`{style:'currency',currency:'JPY'}`, `{style:'currency',currency:'GBP',currencyDisplay:'name'}`,
		`{style:'currency',currency:'EUR',currencyDisplay:'code'}`, `{style:'currency',currency:'CAD',currencyDisplay:'narrowSymbol'}`,
		`{style:'currency',currency:'USD',currencySign:'accounting'}`, `{notation:'compact',compactDisplay:'long'}`,
		`{style:'unit',unit:'kilometer-per-hour'}`, `{style:'unit',unit:'kilobyte',unitDisplay:'long'}`,
		`{style:'unit',unit:'celsius',unitDisplay:'narrow'}`, `{minimumFractionDigits:2}`, `{maximumSignificantDigits:3}`,
		`{signDisplay:'always'}`, `{signDisplay:'exceptZero'}`, `{notation:'scientific'}`, `{notation:'engineering'}`,
		`{useGrouping:false}`, `{style:'percent',maximumFractionDigits:2}`, `{minimumIntegerDigits:3}`, `{roundingMode:'floor',maximumFractionDigits:0}`)
	for _, l := range intlLocales {
		opts := common
		nums := []string{"0", "-1234.5678", "1234567.891"}
		if l == "en-US" || l == "de-DE" {
			opts, nums = all, numbers
		}
		for _, o := range opts {
			for _, n := range nums {
				add(`new Intl.NumberFormat(%s, %s).format(%s)`, q(l), o, n)
			}
		}
	}
	add(`new Intl.NumberFormat('en-US', {style:'currency',currency:'USD'}).formatToParts(-1234.5)`)
	add(`new Intl.NumberFormat('de-DE', {style:'currency',currency:'EUR'}).resolvedOptions()`)
	add(`new Intl.NumberFormat('xx-XX').resolvedOptions().locale`)
	add(`new Intl.NumberFormat().resolvedOptions()`)
	add(`new Intl.NumberFormat('en-US').format(12345678901234567890n)`)
	add(`Intl.NumberFormat.supportedLocalesOf(['de-CH', 'sv', 'ja'])`)
	add(`(() => { try { new Intl.NumberFormat('en', {style:'currency'}); return 'no error'; } catch (e) { return e.name; } })()`)

	// DateTimeFormat: time zones with DST edges
	dates := []string{"0", "Date.UTC(2024, 0, 15, 13, 5, 9, 45)", "Date.UTC(2024, 2, 10, 6, 59, 59)", "Date.UTC(2024, 2, 10, 7, 0, 0)",
		"Date.UTC(2024, 9, 27, 0, 59, 59)", "Date.UTC(2024, 9, 27, 1, 0, 0)", "Date.UTC(2024, 10, 3, 5, 30)", "Date.UTC(1999, 11, 31, 23, 59, 59)"}
	zones := []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney", "Asia/Kolkata", "America/Sao_Paulo"}
	for _, z := range zones {
		for _, d := range dates {
			add(`new Intl.DateTimeFormat('en-US', {timeZone:%s, dateStyle:'medium', timeStyle:'long'}).format(%s)`, q(z), d)
		}
	}
	dopts := []string{`{}`, `{dateStyle:'full'}`, `{dateStyle:'long'}`, `{dateStyle:'medium'}`, `{dateStyle:'short'}`,
		`{timeStyle:'short'}`, `{dateStyle:'short',timeStyle:'short'}`, `{weekday:'long',year:'numeric',month:'long',day:'numeric'}`,
		`{hour:'2-digit',minute:'2-digit',hour12:false}`, `{month:'short',day:'numeric'}`, `{year:'2-digit',month:'2-digit'}`,
		`{hour:'numeric',timeZoneName:'short',timeZone:'America/Los_Angeles'}`, `{timeZoneName:'shortOffset',timeZone:'Asia/Kolkata'}`,
		`{era:'short',year:'numeric'}`, `{hour:'numeric',minute:'numeric',second:'numeric',fractionalSecondDigits:3}`}
	for _, l := range intlLocales {
		opts := dopts[:7]
		if l == "en-US" || l == "de-DE" || l == "ja-JP" {
			opts = dopts
		}
		for _, o := range opts {
			add(`new Intl.DateTimeFormat(%s, %s).format(Date.UTC(2024, 0, 15, 13, 5, 9, 45))`, q(l), o)
		}
	}
	add(`new Intl.DateTimeFormat('en-US', {timeZone:'Europe/Paris', dateStyle:'short', timeStyle:'short'}).formatToParts(Date.UTC(2024, 6, 4, 12))`)
	add(`new Intl.DateTimeFormat('en-US', {month:'short', day:'numeric'}).formatRange(Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 4))`)
	add(`new Intl.DateTimeFormat().resolvedOptions()`)
	add(`new Intl.DateTimeFormat('de-DE', {timeZone:'europe/berlin'}).resolvedOptions().timeZone`)
	add(`(() => { try { new Intl.DateTimeFormat('en', {timeZone:'Mars/Olympus'}); return 'no error'; } catch (e) { return e.name; } })()`)

	// PluralRules
	for _, l := range intlLocales {
		for _, typ := range []string{"cardinal", "ordinal"} {
			add(`[0, 1, 2, 3, 5, 11, 21, 1.5].map((n) => new Intl.PluralRules(%s, {type:%s}).select(n))`, q(l), q(typ))
		}
	}
	add(`new Intl.PluralRules('en-US').resolvedOptions().pluralCategories`)

	// RelativeTimeFormat
	for _, l := range intlLocales {
		for _, o := range []string{`{}`, `{numeric:'auto'}`, `{style:'short'}`, `{style:'narrow',numeric:'auto'}`} {
			add(`[[-1,'day'],[0,'day'],[1,'day'],[2,'month'],[-3.5,'year'],[10,'hour'],[-30,'second'],[1,'quarter']].map(([v, u]) => new Intl.RelativeTimeFormat(%s, %s).format(v, u))`, q(l), o)
		}
	}
	add(`new Intl.RelativeTimeFormat('en', {numeric:'auto'}).formatToParts(-1, 'day')`)

	// ListFormat
	for _, l := range intlLocales {
		for _, o := range []string{`{}`, `{type:'disjunction'}`, `{type:'unit',style:'narrow'}`, `{style:'short'}`} {
			add(`[['a'], ['a','b'], ['a','b','c']].map((x) => new Intl.ListFormat(%s, %s).format(x))`, q(l), o)
		}
	}

	// DisplayNames
	for _, l := range intlLocales {
		add(`[['region','US'],['region','DE'],['region','JP'],['language','de'],['language','en-US'],['language','fr-CA'],['currency','USD'],['currency','EUR'],['currency','JPY'],['script','Latn']].map(([t, c]) => new Intl.DisplayNames(%s, {type:t}).of(c))`, q(l))
	}

	// Segmenter, Locale, getCanonicalLocales, supportedValuesOf
	add(`Array.from(new Intl.Segmenter('en', {granularity:'grapheme'}).segment('e\u0301👍🏽a'), (s) => s.segment)`)
	add(`Array.from(new Intl.Segmenter('en', {granularity:'word'}).segment('Hello, world! It\'s 3.14.'), (s) => [s.segment, s.isWordLike])`)
	add(`Array.from(new Intl.Segmenter('en', {granularity:'sentence'}).segment('One. Two? Three!'), (s) => s.segment)`)
	add(`[new Intl.Locale('en-Latn-US-u-ca-gregory').toString(), new Intl.Locale('en').maximize().toString(), new Intl.Locale('zh-Hant-TW').minimize().toString(), new Intl.Locale('de-DE').baseName, new Intl.Locale('ja', {region:'JP'}).toString()]`)
	add(`Intl.getCanonicalLocales(['EN-us', 'de-de', 'zh-hant-tw'])`)
	add(`(() => { try { Intl.getCanonicalLocales('en_US'); return 'no error'; } catch (e) { return e.name; } })()`)
	add(`['USD', 'EUR', 'JPY'].map((c) => Intl.supportedValuesOf('currency').includes(c))`)
	add(`Intl.supportedValuesOf('timeZone').includes('America/New_York')`)
	add(`Object.prototype.toString.call(Intl)`)
	add(`['Collator','DateTimeFormat','DisplayNames','ListFormat','Locale','NumberFormat','PluralRules','RelativeTimeFormat','Segmenter','getCanonicalLocales','supportedValuesOf'].map((k) => typeof Intl[k])`)

	// Collator and localeCompare
	words := `['b', 'a', 'B', 'A', 'ä', 'z', 'Z', 'résumé', 'resume', 'Resume', 'item10', 'item2', 'item-1', 'co-op', 'coop', 'Öl', 'Ol', '']`
	for _, l := range intlLocales {
		for _, o := range []string{`{}`, `{sensitivity:'base'}`, `{numeric:true}`} {
			add(`%s.slice().sort(new Intl.Collator(%s, %s).compare)`, words, q(l), o)
		}
	}
	for _, o := range []string{`{sensitivity:'accent'}`, `{sensitivity:'case'}`, `{ignorePunctuation:true}`, `{caseFirst:'upper'}`, `{caseFirst:'lower'}`} {
		add(`%s.slice().sort(new Intl.Collator('en', %s).compare)`, words, o)
	}
	add(`[['a','b'],['a','A'],['a','á'],['a','a'],['2','10']].map(([x, y]) => [x.localeCompare(y), x.localeCompare(y, 'en', {sensitivity:'base'}), x.localeCompare(y, undefined, {numeric:true})])`)
	add(`new Intl.Collator('de').resolvedOptions()`)
	add(`new Intl.Collator('en-u-kn').resolvedOptions()`)
	add(`new Intl.Collator().resolvedOptions().locale`)

	// toLocale* of Number, BigInt, Date, Array, String
	for _, l := range []string{"undefined", `'en-US'`, `'de-DE'`, `'fr-FR'`, `'ja-JP'`} {
		add(`[(1234.5).toLocaleString(%s), (1234567n).toLocaleString(%s), (0.5).toLocaleString(%s, {style:'percent'}), (12.5).toLocaleString(%s, {style:'currency', currency:'EUR'})]`, l, l, l, l)
		add(`[new Date(Date.UTC(2024, 6, 4, 18, 30)).toLocaleString(%s), new Date(Date.UTC(2024, 6, 4, 18, 30)).toLocaleDateString(%s), new Date(Date.UTC(2024, 6, 4, 18, 30)).toLocaleTimeString(%s)]`, l, l, l)
		add(`[1234.5, new Date(0), 'x', null, 7n].toLocaleString(%s)`, l)
	}
	add(`new Date(Date.UTC(2024, 6, 4, 18, 30)).toLocaleString('en-US', {timeZone:'America/Chicago'})`)
	add(`new Date(Date.UTC(2024, 6, 4, 18, 30)).toLocaleDateString('en-US', {month:'long'})`)
	add(`new Date(Date.UTC(2024, 6, 4, 18, 30)).toLocaleTimeString('en-US', {hour:'2-digit'})`)
	add(`new Date(NaN).toLocaleString()`)
	add(`['istanbul'.toLocaleUpperCase('tr'), 'İSTANBUL'.toLocaleLowerCase('tr-TR'), 'IRMAK'.toLocaleLowerCase('az'), 'straße'.toLocaleUpperCase('de'), 'ΑΒΓ'.toLocaleLowerCase()]`)
	return c
}

// intlDivergences are expressions whose result in the images legitimately differs from
// Node's, with the reason. TestIntlParity fails when one of them no longer differs, so
// that the list cannot go stale.
var intlDivergences = map[string]string{
	`new Intl.NumberFormat("en-US", {notation:'compact'}).format(1e21)`:                                                                                                                                        fjsCompactHuge,
	`new Intl.NumberFormat("en-US", {notation:'compact',compactDisplay:'long'}).format(1e21)`:                                                                                                                  fjsCompactHuge,
	`new Intl.NumberFormat("de-DE", {notation:'compact'}).format(1e21)`:                                                                                                                                        fjsCompactHuge,
	`new Intl.NumberFormat("de-DE", {notation:'compact',compactDisplay:'long'}).format(1e21)`:                                                                                                                  fjsCompactHuge,
	`new Intl.NumberFormat("en-US", {style:'currency',currency:'EUR',currencyDisplay:'code'}).format(NaN)`:                                                                                                     fjsCodeNonFinite,
	`new Intl.NumberFormat("en-US", {style:'currency',currency:'EUR',currencyDisplay:'code'}).format(-Infinity)`:                                                                                               fjsCodeNonFinite,
	`Intl.NumberFormat.supportedLocalesOf(['de-CH', 'sv', 'ja'])`:                                                                                                                                              "sv is not a shipped locale (Node has all of ICU's)",
	`new Intl.DateTimeFormat("en-US", {timeZoneName:'shortOffset',timeZone:'Asia/Kolkata'}).format(Date.UTC(2024, 0, 15, 13, 5, 9, 45))`:                                                                       fjsZoneOnly,
	`new Intl.DateTimeFormat("de-DE", {timeZoneName:'shortOffset',timeZone:'Asia/Kolkata'}).format(Date.UTC(2024, 0, 15, 13, 5, 9, 45))`:                                                                       fjsZoneOnly,
	`new Intl.DateTimeFormat("ja-JP", {timeZoneName:'shortOffset',timeZone:'Asia/Kolkata'}).format(Date.UTC(2024, 0, 15, 13, 5, 9, 45))`:                                                                       fjsZoneOnly,
	`new Intl.DateTimeFormat("pt-BR", {dateStyle:'short',timeStyle:'short'}).format(Date.UTC(2024, 0, 15, 13, 5, 9, 45))`:                                                                                      "FormatJS's pt date-time glue pattern has no comma (\"{1} {0}\"); ICU 78's CLDR 48 has \"{1}, {0}\"",
	`[[-1,'day'],[0,'day'],[1,'day'],[2,'month'],[-3.5,'year'],[10,'hour'],[-30,'second'],[1,'quarter']].map(([v, u]) => new Intl.RelativeTimeFormat("nl-NL", {style:'narrow',numeric:'auto'}).format(v, u))`:  "FormatJS's nl narrow second is \"s\", CLDR 48's \"sec.\"",
	`[new Date(Date.UTC(2024, 6, 4, 18, 30)).toLocaleString('ja-JP'), new Date(Date.UTC(2024, 6, 4, 18, 30)).toLocaleDateString('ja-JP'), new Date(Date.UTC(2024, 6, 4, 18, 30)).toLocaleTimeString('ja-JP')]`: fjsJaDefault,
	`[1234.5, new Date(0), 'x', null, 7n].toLocaleString('ja-JP')`:                                                                                                                                             fjsJaDefault,
}

const (
	fjsCompactHuge   = "FormatJS does not group the digits of a compact number beyond the largest CLDR unit (1e21 is 1,000,000,000T in ICU)"
	fjsCodeNonFinite = "FormatJS puts a no-break space between a currency code and NaN or infinity; ICU does not"
	fjsZoneOnly      = "for timeZoneName alone FormatJS's best-fit matcher picks a skeleton with the hour; ICU's has date and zone only"
	fjsJaDefault     = "for ja's default date and time (toLocaleString) FormatJS's best-fit matcher picks y年M月d日, ICU y/M/d"
)

// TestIntlParity evaluates intlCorpus in real Node (TZ=UTC, en-US) and in both images
// and requires equal results, except for intlDivergences.
func TestIntlParity(t *testing.T) {
	corpus := intlCorpus()
	args, err := json.Marshal(corpus)
	if err != nil {
		t.Fatal(err)
	}
	const body = `return args.map((e) => { try { return JSON.stringify((0, eval)(e)); } catch (err) { return 'threw ' + err.name + ': ' + err.message; } });`
	want := intlNode(t, string(args), body)
	for _, image := range []string{"node22", "node-bt"} {
		// the layer is the same code in both images: node-bt runs every 8th expression
		step := 1
		if image == "node-bt" {
			step = 8
		}
		got := intlRun(t, image, body, corpus, step)
		differ := 0
		for i, e := range corpus {
			if i%step != 0 {
				continue
			}
			reason, listed := intlDivergences[e]
			switch {
			case got[i] == want[i] && listed:
				t.Errorf("%s: %s\nis listed as differing from Node (%s) but now gives Node's %s: remove it from intlDivergences", image, e, reason, want[i])
			case got[i] != want[i] && !listed:
				differ++
				t.Errorf("%s: %s\n got %s\nwant %s", image, e, strconv.QuoteToASCII(got[i]), strconv.QuoteToASCII(want[i]))
			}
		}
		if image == "node22" && os.Getenv("REACTORD_INTL_REPORT") != "" {
			t.Logf("%d expressions, %d differ unlisted, %d listed divergences", len(corpus), differ, len(intlDivergences))
		}
	}
}

// intlRun evaluates every step-th expression of corpus on one instance of image, in
// invocations of 40 (each is bounded by the tier's timeout).
func intlRun(t *testing.T, image, body string, corpus []string, step int) []string {
	t.Helper()
	wrap := "{ raw: out }"
	if image == "node22" {
		wrap = "{ res: { body: out } }"
	}
	code := "module.exports = async (req) => { const args = req.args !== undefined ? req.args : req.req; const out = (() => {" + body + "})(); return " + wrap + "; };"
	ctx := context.Background()
	snap, err := testEngine.Load(ctx, runtime.Bundle{Image: image, Code: []byte(code)})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	defer snap.Close()
	// the first use of each locale parses its data: more than the standard 10 s for 40
	limits := standard(t)
	limits.Timeout = time.Minute
	in, err := snap.NewInstance(ctx, limits)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(ctx)
	got := make([]string, len(corpus))
	var chunk []string
	var at []int
	flush := func() {
		if len(chunk) == 0 {
			return
		}
		args, _ := json.Marshal(chunk)
		r, err := in.Invoke(ctx, runtime.Event{Args: args})
		if err != nil || r.Status != 200 {
			t.Fatalf("%s: %v %d %s", image, err, r.Status, r.Body)
		}
		var out struct {
			Raw  []string `json:"raw"`
			Body []string `json:"body"`
		}
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatal(err)
		}
		res := out.Raw
		if image == "node22" {
			res = out.Body
		}
		if len(res) != len(chunk) {
			t.Fatalf("%s: %d results for %d expressions", image, len(res), len(chunk))
		}
		for j, k := range at {
			got[k] = res[j]
		}
		chunk, at = chunk[:0], at[:0]
	}
	for i := 0; i < len(corpus); i += step {
		chunk = append(chunk, corpus[i])
		at = append(at, i)
		if len(chunk) == 40 {
			flush()
		}
	}
	flush()
	return got
}

// intlNode runs body (with `args`) in Node with the runtime's defaults: time zone UTC,
// locale en-US.
func intlNode(t *testing.T, args, body string) []string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the Intl parity test compares with it")
	}
	cmd := exec.Command(node, "-")
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=en_US.UTF-8", "LANG=en_US.UTF-8")
	cmd.Stdin = strings.NewReader("const args = " + args + ";\nconst out = (() => {" + body + "})();\nprocess.stdout.write(JSON.stringify(out));")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var res []string
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node output: %v", err)
	}
	return res
}

// TestIntlMutation: reactor code replacing or deleting Intl and its members breaks no
// more than it would in Node: the toLocale* methods and the other constructors keep
// working, in both images.
func TestIntlMutation(t *testing.T) {
	cases := []parityCase{
		{"replace NumberFormat", `const saved = Intl.NumberFormat; Intl.NumberFormat = function () { throw new Error('replaced'); }; try { return [(0.25).toLocaleString('en-US', {style:'percent'}), new Intl.RelativeTimeFormat('en').format(3, 'day'), new Intl.PluralRules('en').select(1)]; } finally { Intl.NumberFormat = saved; }`},
		{"replace getCanonicalLocales", `const saved = Intl.getCanonicalLocales; Intl.getCanonicalLocales = () => { throw new Error('replaced'); }; try { return [new Intl.DateTimeFormat('fr-FR', {dateStyle:'long'}).format(0), (5).toLocaleString('fr-FR')]; } finally { Intl.getCanonicalLocales = saved; }`},
		{"patch format", `const nf = Intl.NumberFormat.prototype; Object.defineProperty(nf, 'format', { get() { return () => 'patched'; } }); return [(1).toLocaleString('en-US'), new Intl.NumberFormat('en-US').format(1)];`},
		{"delete Intl (last: Node runs the cases in one process)", `delete globalThis.Intl; return [(1234.5).toLocaleString('en-US', {style:'currency', currency:'USD'}), new Date(0).toLocaleDateString('de-DE'), 'a'.localeCompare('b'), typeof globalThis.Intl];`},
	}
	for _, image := range []string{"node-bt", "node22"} {
		runParity(t, image, `{}`, cases)
	}
}

// TestIntlLoading: Intl is evaluated while a reactor's snapshot is made when its code
// mentions Intl or a toLocale* method, else on first use; either way it behaves as
// Node's, and what reactor code replaced before that first use stays replaced.
func TestIntlLoading(t *testing.T) {
	// these bodies must not mention the words the layer looks for: they are built
	cases := []parityCase{
		{"first use through the global", `const I = globalThis['In' + 'tl']; return [new I.NumberFormat('de-DE', {style:'currency', currency:'EUR'}).format(1234.5), typeof I.Collator];`},
		{"first use through a method", `return [(1234.5)['toLocale' + 'String']('en-US'), new Date(0)['toLocale' + 'DateString']('en-GB')];`},
		{"replaced before first use", `const N = Number.prototype, k = 'toLocale' + 'String'; const saved = N[k]; N[k] = function () { return 'mine'; }; try { return [(1)[k](), typeof globalThis['In' + 'tl'].NumberFormat, (1)[k]()]; } finally { N[k] = saved; }`},
		{"deleted before first use (last)", `delete globalThis['In' + 'tl']; return [(1234.5)['toLocale' + 'String']('en-US'), typeof globalThis['In' + 'tl']];`},
	}
	for _, image := range []string{"node-bt", "node22"} {
		runParity(t, image, `{}`, cases)
	}
	// A reactor that mentions Intl starts with it evaluated (a data property, as in
	// Node); one that does not sees the layer's accessor until first use.
	for _, tc := range []struct {
		name, code, want string
	}{
		{"mentions Intl", `module.exports = async () => ({ raw: 'value' in Object.getOwnPropertyDescriptor(globalThis, 'Intl') }); // Intl`, `true`},
		{"mentions toLocaleString", `module.exports = async () => ({ raw: 'value' in Object.getOwnPropertyDescriptor(globalThis, 'In' + 'tl') }); // x.toLocaleString()`, `true`},
		{"mentions neither", `module.exports = async () => ({ raw: 'value' in Object.getOwnPropertyDescriptor(globalThis, 'In' + 'tl') });`, `false`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := invoke(t, "node-bt", tc.code, `{}`, standard(t))
			var out struct {
				Raw json.RawMessage `json:"raw"`
			}
			if err := json.Unmarshal(r.Body, &out); r.Status != 200 || err != nil || string(out.Raw) != tc.want {
				t.Errorf("got %d %s, want raw %s", r.Status, r.Body, tc.want)
			}
		})
	}
}
