package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// measureProxy compares calling a local destination directly with calling it through
// /proxy: with no transform, with one code transform (a pre-configured proxy), and
// with ten tokens detokenized into the body. It reports the added p50 and p99.
func measureProxy(client *http.Client, base string, add func(name, value, target, note string)) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	answer := []byte(`{"ok":true,"card":"4242424242424242"}`)
	dest := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	})}
	go dest.Serve(ln)
	defer dest.Close()
	destURL := "http://" + ln.Addr().String() + "/charge"

	status, out, err := postJSON(client, base+"/applications", benchKey, []byte(`{"name":"bench proxy","type":"private","permissions":["token:use","token:create"]}`))
	var app struct{ Key string }
	if err != nil || status != 201 || json.Unmarshal(out, &app) != nil {
		return fmt.Errorf("create application: %d %s %v", status, out, err)
	}
	var fields []string
	for i := range 10 {
		status, out, err := postJSON(client, base+"/tokens", app.Key, fmt.Appendf(nil, `{"type":"token","data":"secret value %d"}`, i))
		var tok struct{ ID string }
		if err != nil || status != 201 || json.Unmarshal(out, &tok) != nil {
			return fmt.Errorf("create token: %d %s %v", status, out, err)
		}
		fields = append(fields, fmt.Sprintf(`"f%d":"{{ %s }}"`, i, tok.ID))
	}
	detokBody := []byte("{" + strings.Join(fields, ",") + "}")
	proxyBody, _ := json.Marshal(map[string]any{"name": "bench", "destination_url": destURL, "require_auth": false,
		"request_transforms": []any{map[string]any{"code": "module.exports = async (req) => ({ body: { ...req.args.body, amount: req.args.body.amount * 100 }, headers: req.args.headers })"}}})
	status, out, err = postJSON(client, base+"/proxies", benchKey, proxyBody)
	var px struct{ Key string }
	if err != nil || status != 201 || json.Unmarshal(out, &px) != nil {
		return fmt.Errorf("create proxy: %d %s %v", status, out, err)
	}

	body := []byte(`{"amount":12.5,"currency":"usd"}`)
	request := func(url string, body []byte, hdr ...string) func() *http.Request {
		return func() *http.Request {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			return req
		}
	}
	check := func(status int, b []byte) error {
		if status != 200 || !bytes.Contains(b, []byte(`"ok":true`)) {
			return fmt.Errorf("unexpected response %d %s", status, b)
		}
		return nil
	}
	variants := []struct {
		name, note string
		newReq     func() *http.Request
		target     string
	}{
		{"no transform", "ephemeral: BT-API-KEY, BT-PROXY-URL", request(base+"/proxy", body, "BT-API-KEY", app.Key, "BT-PROXY-URL", destURL), ""},
		{"one code transform", "pre-configured, request transform on a warm instance", request(base+"/proxy", body, "BT-PROXY-KEY", px.Key), "added p50 <= 300 us"},
		{"10 tokens detokenized", "ephemeral, JSON body with 10 {{ token }} expressions", request(base+"/proxy", detokBody, "BT-API-KEY", app.Key, "BT-PROXY-URL", destURL), ""},
	}
	// Rounds interleave the direct calls and the variants, and each figure is the
	// median of its rounds: the direct call and the proxy run close together, so
	// drift of a shared machine moves both.
	const d, rounds = time.Second, 3
	for _, c := range []int{1, 32} {
		type figure struct{ p50, p99 time.Duration }
		direct := make([]figure, rounds)
		added := make([][]figure, len(variants))
		through := make([][]time.Duration, len(variants))
		for round := range rounds {
			lat, _, _, err := loadRequests(client, request(destURL, body), c, d, check)
			if err != nil {
				return fmt.Errorf("direct: %w", err)
			}
			direct[round] = figure{pct(lat, 50), pct(lat, 99)}
			for i, v := range variants {
				lat, _, _, err := loadRequests(client, v.newReq, c, d, check)
				if err != nil {
					return fmt.Errorf("%s: %w", v.name, err)
				}
				a := figure{pct(lat, 50) - direct[round].p50, pct(lat, 99) - direct[round].p99}
				added[i] = append(added[i], a)
				through[i] = append(through[i], pct(lat, 50))
				fmt.Fprintf(os.Stderr, "  round %d, %2d client(s), proxy %-22s added p50 %s\n", round+1, c, v.name, us(a.p50))
			}
		}
		median := func(fs []figure) figure {
			var p50s, p99s []time.Duration
			for _, f := range fs {
				p50s, p99s = append(p50s, f.p50), append(p99s, f.p99)
			}
			return figure{pct(p50s, 50), pct(p99s, 50)}
		}
		dm := median(direct)
		add(fmt.Sprintf("proxy: destination called directly, %d client(s) p50 / p99", c), us(dm.p50)+" / "+us(dm.p99), "",
			fmt.Sprintf("local HTTP destination; medians of %d rounds", rounds))
		for i, v := range variants {
			target := ""
			if c == 1 {
				target = v.target
			}
			am := median(added[i])
			add(fmt.Sprintf("proxy: %s, %d client(s), added p50 / p99", v.name, c), us(am.p50)+" / "+us(am.p99), target,
				fmt.Sprintf("%s; through the proxy p50 %s; medians of %d rounds, each against the direct calls of its round", v.note, us(pct(through[i], 50)), rounds))
		}
	}
	return nil
}
