package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	rt "github.com/reactord/reactord/runtime"
)

// topLevelKeys returns the keys of a JSON object in order, duplicates included
// (encoding/json keeps only the last of a duplicated key).
func topLevelKeys(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", line)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestReactorConsoleLogging runs a reactor that prints a card number and an SSN through
// Pools.Run, the path that logs reactor output, under each --reactor-logs mode, and
// reads the service's JSON log.
func TestReactorConsoleLogging(t *testing.T) {
	const pan, ssn = "4111111111111111", "078-05-1120"
	code := `module.exports = async (req) => {
  console.log("card " + req.args.card);
  console.error({ ssn: req.args.ssn, spaced: "4242 4242 4242 4242" });
  return { raw: 1 };
}`
	tests := []struct {
		name     string
		mode     ReactorLogs
		level    slog.Level // of the reactor's records
		handler  slog.Level // the service log's threshold
		records  int        // "reactor console" records expected
		contains []string
		absent   []string
	}{
		{name: "default is redacted", records: 2,
			contains: []string{`"card ************1111"`, `***-**-****`, `**** **** **** 4242`, `"level":"INFO"`},
			absent:   []string{pan, ssn, "4242 4242 4242 4242"}},
		{name: "redacted", mode: ReactorLogsRedacted, records: 2, contains: []string{`************1111`, `***-**-****`}, absent: []string{pan, ssn}},
		{name: "full", mode: ReactorLogsFull, records: 2, contains: []string{pan, ssn}},
		{name: "off", mode: ReactorLogsOff, records: 0, absent: []string{pan, ssn, "reactor console", "1111"}},
		{name: "at debug, hidden at info", mode: ReactorLogsFull, level: slog.LevelDebug, records: 0, absent: []string{pan, ssn}},
		{name: "at debug, shown at debug", level: slog.LevelDebug, handler: slog.LevelDebug, records: 2,
			contains: []string{`"level":"DEBUG","msg":"reactor console"`, `************1111`}, absent: []string{pan, ssn}},
	}
	ctx := context.Background()
	eng, err := rt.NewEngine(ctx, rt.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	b := &memBundles{m: map[string][]byte{}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tc.handler}))
			p := NewPools(eng, b, PoolsConfig{Logger: log, ReactorLogs: tc.mode, ReactorLogLevel: tc.level})
			defer p.Close()
			req := request(t, b, "r-console", code)
			req.Args = json.RawMessage(`{"card":"` + pan + `","ssn":"` + ssn + `"}`)
			req.TraceID = "trace-1"
			if r, err := p.Run(ctx, req, nil); err != nil || r.Status != 200 {
				t.Fatalf("run: %v %d %s", err, r.Status, r.Body)
			}
			out := buf.String()
			records := 0
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if line == "" {
					continue
				}
				keys := topLevelKeys(t, line)
				seen := map[string]bool{}
				for _, k := range keys {
					if seen[k] {
						t.Errorf("duplicate key %q in %s", k, line)
					}
					seen[k] = true
				}
				if strings.Contains(line, `"msg":"reactor console"`) {
					records++
					var rec struct {
						Console struct{ Level, Message string } `json:"console"`
						Reactor string                          `json:"reactor_id"`
					}
					json.Unmarshal([]byte(line), &rec)
					if rec.Console.Level == "" || rec.Console.Message == "" || rec.Reactor != "r-console" {
						t.Errorf("record lacks the console group or reactor_id: %s", line)
					}
				}
			}
			if records != tc.records {
				t.Errorf("%d reactor console records, want %d:\n%s", records, tc.records, out)
			}
			for _, s := range tc.contains {
				if !strings.Contains(out, s) {
					t.Errorf("log lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(out, s) {
					t.Errorf("log contains %q:\n%s", s, out)
				}
			}
			t.Logf("%s", out)
		})
	}
}

func TestParseReactorLogs(t *testing.T) {
	for _, s := range []string{"off", "redacted", "full"} {
		if m, err := ParseReactorLogs(s); err != nil || string(m) != s {
			t.Errorf("ParseReactorLogs(%q) = %q, %v", s, m, err)
		}
	}
	for _, s := range []string{"", "on", "FULL", "redact"} {
		if _, err := ParseReactorLogs(s); err == nil {
			t.Errorf("ParseReactorLogs(%q) accepted", s)
		}
	}
}
