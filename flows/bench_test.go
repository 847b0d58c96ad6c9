package flows_test

import (
	"context"
	"testing"

	"github.com/enlace-rfl/enlace/flows"
)

// BenchmarkStep measures one engine step: a person at the menu types a global word.
func BenchmarkStep(b *testing.B) {
	cat := newEngine(&testing.T{})
	from := flows.Sender{Channel: "sms", Address: "+525512345678"}
	s := flows.Session{}
	for _, in := range []flows.Input{text("hola"), text("1"), text("1")} {
		s = cat.Step(context.Background(), s, in, from, t0).Session
	}
	in := text("Menú")
	b.ReportAllocs()
	for b.Loop() {
		r := cat.Step(context.Background(), s, in, from, t0)
		if len(r.Outputs()) == 0 {
			b.Fatal("no output")
		}
	}
}
