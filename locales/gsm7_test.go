package locales

import "testing"

func TestToGSM7(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hola, ¿cómo estás? Aquí está tu información.", "Hola, ¿como estas? Aqui esta tu informacion."},
		{"Você não está só: ação, coração, pêssego", "Voce nao esta so: acao, coracao, pessego"},
		{"Ça, français, être, île, où, Noël", "Ça, francais, etre, ile, où, Noel"},
		{"Mwen dakò, mèsi, fanmi w", "Mwen dakò, mèsi, fanmi w"},
		{"Ñandú, pingüino, É, à, ü", "Ñandu, pingüino, É, à, ü"},
		{"“Hola” — ‘sí’…", "\"Hola\" - 'si'..."},
		{"Comparte 📎 tu ubicación", "Comparte  tu ubicacion"},
		{"Línea 1\nLínea 2 €", "Linea 1\nLinea 2 €"},
	}
	for _, tt := range tests {
		got := ToGSM7(tt.in)
		if got != tt.want {
			t.Errorf("ToGSM7(%q): got %q, want %q", tt.in, got, tt.want)
		}
		if _, ucs2 := SMSSegments(got); ucs2 {
			t.Errorf("ToGSM7(%q) = %q still needs UCS-2", tt.in, got)
		}
	}
}

func TestToGSM7HalvesTheCost(t *testing.T) {
	s := "Escribe el nombre del pueblo o ciudad donde estás. Aquí tienes la información que pediste sobre los albergues más cercanos a tu ubicación."
	before, ucs2 := SMSSegments(s)
	after, ucs2After := SMSSegments(ToGSM7(s))
	if !ucs2 || ucs2After || after >= before {
		t.Errorf("got %d UCS-2 parts (%v) becoming %d parts (UCS-2 %v), want fewer 7-bit parts", before, ucs2, after, ucs2After)
	}
}
