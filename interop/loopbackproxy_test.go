//go:build unix && sfcli

package interop

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"slices"
	"sync"
	"testing"
)

// loopbackProxy is the HTTP proxy the Salesforce CLI is pointed at (HTTPS_PROXY and
// friends), so that a test notices when the CLI tries to leave the machine. It
// tunnels (CONNECT) and forwards (absolute URLs) to loopback addresses only, and
// refuses and records everything else. The CLI needs watching: when a JWT login
// fails, it retries against login.salesforce.com and test.salesforce.com.
type loopbackProxy struct {
	url string

	mu      sync.Mutex
	refused []string
}

// startLoopbackProxy starts the proxy and, when the test ends, fails it if any
// destination was refused.
func startLoopbackProxy(t *testing.T) *loopbackProxy {
	t.Helper()
	p := &loopbackProxy{}
	srv := httptest.NewServer(p)
	p.url = srv.URL
	t.Cleanup(func() {
		srv.Close()
		if refused := p.refusedHosts(); len(refused) > 0 {
			t.Errorf("the Salesforce CLI tried to reach %v, outside loopback (refused)", refused)
		}
	})
	return p
}

func (p *loopbackProxy) refusedHosts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.refused)
}

// loopback says whether host:port names a loopback address. Names are not resolved:
// the CLI is given sfsim's URL as an IP address.
func loopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (p *loopbackProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !loopback(r.Host) {
		p.mu.Lock()
		p.refused = append(p.refused, r.Host)
		p.mu.Unlock()
		http.Error(w, "this proxy reaches loopback addresses only", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodConnect {
		(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = r.URL
			pr.Out.Host = r.Host
		}}).ServeHTTP(w, r)
		return
	}
	upstream, err := (&net.Dialer{}).DialContext(r.Context(), "tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, buffered, err := http.NewResponseController(w).Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n"))
	done := make(chan struct{}, 2)
	pipe := func(dst io.Writer, src io.Reader) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(upstream, buffered)
	go pipe(conn, upstream)
	<-done
	conn.Close()
	upstream.Close()
	<-done
}
