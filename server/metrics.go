package server

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trovato/trovato/core/kernel"
)

// metrics are the server's Prometheus collectors, on a registry of its
// own (so several servers in one process, as in tests, do not collide).
type metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	rateLimited *prometheus.CounterVec
	derivatives *prometheus.CounterVec

	obsMu sync.Mutex
	obs   atomic.Pointer[map[routeStatus]*routeObserver] // routeObs
}

func newMetrics(k *kernel.Kernel) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trovato_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "trovato_http_request_duration_seconds", Help: "Time to answer a request, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trovato_http_requests_in_flight", Help: "Requests being answered.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trovato_rate_limited_total", Help: "Requests refused by a rate limit, by route class.",
		}, []string{"class"}),
		derivatives: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trovato_image_derivatives_total", Help: "Image derivatives made, by style.",
		}, []string{"style"}),
	}
	m.obs.Store(&map[routeStatus]*routeObserver{})
	m.reg.MustRegister(m.requests, m.latency, m.inFlight, m.rateLimited, m.derivatives,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "trovato"}))
	if k.Pool != nil {
		pool := k.Pool
		m.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "trovato_db_pool_connections", Help: "Open database connections."},
				func() float64 { return float64(pool.Stat().TotalConns()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "trovato_db_pool_acquired_connections", Help: "Database connections in use."},
				func() float64 { return float64(pool.Stat().AcquiredConns()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "trovato_db_pool_max_connections", Help: "Size limit of the database pool."},
				func() float64 { return float64(pool.Stat().MaxConns()) }),
		)
	}
	return m
}

// Registry returns the server's metrics registry, where other parts of
// the process (the plugin host) register their collectors.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

func (m *metrics) observe(route string, status int, d time.Duration) {
	o := m.routeObs(route, status)
	o.requests.Inc()
	o.latency.Observe(d.Seconds())
}

// routeStatus keys the collectors of a route and status.
type routeStatus struct {
	route  string
	status int
}

type routeObserver struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// routeObs returns the request counter and latency histogram of a route
// and status, looked up by label values once: a request reads them from
// a map that is replaced, never changed (routes and statuses are few).
func (m *metrics) routeObs(route string, status int) *routeObserver {
	k := routeStatus{route, status}
	if o, ok := (*m.obs.Load())[k]; ok {
		return o
	}
	m.obsMu.Lock()
	defer m.obsMu.Unlock()
	old := *m.obs.Load()
	if o, ok := old[k]; ok {
		return o
	}
	o := &routeObserver{m.requests.WithLabelValues(route, strconv.Itoa(status)), m.latency.WithLabelValues(route)}
	next := make(map[routeStatus]*routeObserver, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[k] = o
	m.obs.Store(&next)
	return o
}

func (m *metrics) handler() http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := stateOf(r); st != nil {
			st.route = "metrics"
		}
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}
