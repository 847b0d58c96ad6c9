package bot

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pipeline's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	inboundTotal  *prometheus.CounterVec
	outboundTotal *prometheus.CounterVec
	handleSeconds *prometheus.HistogramVec
}

// NewMetrics registers the pipeline's metrics with reg, including gauges read
// from the store at scrape time (queue depth, dead letters).
func NewMetrics(reg prometheus.Registerer, st Store) *Metrics {
	m := &Metrics{
		inboundTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enlace_inbound_messages_total", Help: "Inbound messages by channel and outcome (accepted, duplicate, error).",
		}, []string{"channel", "outcome"}),
		outboundTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enlace_outbound_messages_total", Help: "Outbound delivery attempts by channel and outcome (sent, retry, throttled, dead, replayed: a dead letter back in its outbox by itself; paced: waiting for its lane's budget, not an attempt).",
		}, []string{"channel", "outcome"}),
		handleSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "enlace_handle_seconds", Help: "Time to handle one inbound message, from reading it to committing the replies.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"channel"}),
	}
	reg.MustRegister(m.inboundTotal, m.outboundTotal, m.handleSeconds)
	gauge := func(name, help string, read func(ctx context.Context) (int64, error)) prometheus.GaugeFunc {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := read(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		})
	}
	reg.MustRegister(
		gauge("enlace_inbound_queue_people", "People with inbound messages waiting to be handled.",
			func(ctx context.Context) (int64, error) { return st.Pending(ctx, QueueInbound) }),
		gauge("enlace_outbound_queue_people", "People with new replies waiting to be moved to their delivery lane.",
			func(ctx context.Context) (int64, error) { return st.Pending(ctx, QueueOutbound) }),
		gauge("enlace_dead_letters", "Replies that could not be delivered and wait for an operator.",
			st.CountDeadLetters),
	)
	return m
}

func (m *Metrics) inbound(channel, outcome string) {
	if m != nil {
		m.inboundTotal.WithLabelValues(channel, outcome).Inc()
	}
}

func (m *Metrics) outbound(channel, outcome string) {
	if m != nil {
		m.outboundTotal.WithLabelValues(channel, outcome).Inc()
	}
}

func (m *Metrics) handled(channel string, d time.Duration) {
	if m != nil {
		m.handleSeconds.WithLabelValues(channel).Observe(d.Seconds())
	}
}

// laneCollector reports, at scrape time, how many people wait on each
// delivery lane of the pipeline (for their budget, or their turn).
type laneCollector struct {
	p    *Pipeline
	desc *prometheus.Desc
}

// LaneMetrics is a collector of the gauge enlace_lane_queue_people{lane}:
// people whose next reply waits on each delivery lane. Register it once the
// channels are added.
func (p *Pipeline) LaneMetrics() prometheus.Collector {
	return &laneCollector{p: p, desc: prometheus.NewDesc("enlace_lane_queue_people",
		"People whose next reply waits on a delivery lane (one per sender), for its budget or its turn.", []string{"lane"}, nil)}
}

func (c *laneCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *laneCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, l := range c.p.allLanes() {
		n, err := c.p.store.Pending(ctx, l.queue)
		if err != nil {
			n = -1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), l.name)
	}
}
