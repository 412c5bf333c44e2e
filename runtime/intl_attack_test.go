package runtime_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestIntlHostileInput attacks the host operations behind Intl (intl-data, which
// serves locale and time-zone data by key, and collate) with the inputs reactor code
// controls: locale tags and time-zone names shaped like paths or keys of other data,
// and strings too large to compare. Each is refused in JavaScript or answered within
// the limits; none reaches a file, another key's data or the host's memory.
func TestIntlHostileInput(t *testing.T) {
	tests := []struct {
		name, code string
		want       string // substring of the raw result
	}{
		{"time zone shaped like a path",
			`try { new Intl.DateTimeFormat('en', { timeZone: '../../../../etc/passwd' }); return 'accepted'; } catch (e) { return e.name; }`,
			`RangeError`},
		{"time zone shaped like a data key",
			`try { new Intl.DateTimeFormat('en', { timeZone: 'script' }); return 'accepted'; } catch (e) { return e.name; }`,
			`RangeError`},
		{"locale shaped like a path",
			`try { return new Intl.NumberFormat('../../etc/passwd').format(1); } catch (e) { return e.name; }`,
			`RangeError`},
		{"locale shaped like a data key",
			`try { return new Intl.NumberFormat('de/NumberFormat').resolvedOptions().locale; } catch (e) { return e.name; }`,
			`RangeError`},
		{"huge locale tag",
			`try { return new Intl.NumberFormat('a'.repeat(1 << 20)).format(1); } catch (e) { return e.name; }`,
			`RangeError`},
		{"collation of 4 MiB strings",
			`const a = 'a'.repeat(4 << 20), b = a + 'b'; return String(a.localeCompare(b)) + ' ' + String(new Intl.Collator('en').compare(b, a));`,
			`-1 1`},
	}
	// Both images share the Intl layer and its host operations; one suffices.
	for _, image := range []string{"node22"} {
		for _, tc := range tests {
			t.Run(image+"/"+tc.name, func(t *testing.T) {
				code := `module.exports = async () => ({ raw: (() => { ` + tc.code + ` })() });`
				r := invoke(t, image, code, `{}`, standard(t))
				var out struct {
					Raw json.RawMessage `json:"raw"`
				}
				if r.Status != 200 || json.Unmarshal(r.Body, &out) != nil || !strings.Contains(string(out.Raw), tc.want) {
					t.Errorf("got %d %s, want raw containing %q", r.Status, r.Body, tc.want)
				}
			})
		}
	}
}
