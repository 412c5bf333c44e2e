package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
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
	const d = 2 * time.Second
	for _, c := range []int{1, 32} {
		direct, _, _, err := loadRequests(client, request(destURL, body), c, d, check)
		if err != nil {
			return fmt.Errorf("direct: %w", err)
		}
		add(fmt.Sprintf("proxy: destination called directly, %d client(s) p50 / p99", c), us(pct(direct, 50))+" / "+us(pct(direct, 99)), "", "local HTTP destination")
		for _, v := range variants {
			lat, _, _, err := loadRequests(client, v.newReq, c, d, check)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			target := ""
			if c == 1 {
				target = v.target
			}
			add(fmt.Sprintf("proxy: %s, %d client(s), added p50 / p99", v.name, c),
				us(pct(lat, 50)-pct(direct, 50))+" / "+us(pct(lat, 99)-pct(direct, 99)), target,
				fmt.Sprintf("%s; through the proxy p50 %s", v.note, us(pct(lat, 50))))
		}
	}
	return nil
}
