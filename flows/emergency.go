package flows

// emergencyNumber is one emergency line shown to people, with where it comes from.
// A number without a source is never shown: the text of message
// "emergency.<country>" may only contain numbers listed here (a test checks it).
type emergencyNumber struct {
	Country, Number, Service, Source, Seen string
}

// emergencyNumbers are the general emergency lines listed as safe to show in the
// project's research (shared/data/emergency_numbers.md); re-check each on an
// official site before release.
var emergencyNumbers = []emergencyNumber{
	{"MX", "911", "general", "https://www.gob.mx/policiafederal/articulos/088-911-responder-ante-cualquier-llamado?idiom=es", "DOF 2015-12-02"},
	{"GT", "110", "police", "https://emisorasunidas.com/nacional/2025/12/24/guia-de-numeros-de-emergencia-por-celebraciones-de-fin-de-ano/", "2025-12-24"},
	{"GT", "122", "fire", "https://emisorasunidas.com/nacional/2025/12/24/guia-de-numeros-de-emergencia-por-celebraciones-de-fin-de-ano/", "2025-12-24"},
	{"GT", "125", "red cross", "https://www.tn23.tv/conred-en-alerta-por-fiestas-de-navidad-y-ano-nuevo/", "2025-12"},
	{"HN", "911", "general", "https://www.elheraldo.hn/elheraldoplus/factchecking/analisis/guia-emergencia-lluvias-honduras-inundaciones-octubre-2025-AG27740066", "2025-10-14"},
	{"SV", "911", "general", "https://croniosv.com/nacionales/vientos-acelerados-del-noreste-y-ambiente-caluroso/", "2025-02"},
	{"SV", "132", "medical", "https://diario.elmundo.sv/Nacionales/estos-son-los-numeros-de-emergencias-que-debes-conocer", "2026"},
	{"NI", "118", "police", "https://www.el19digital.news/articulos/ver/173131--centro-de-emergencia-comandante-edmundo-perez-flores-contribuye-a-la-seguridad-y-tranquilidad-de-las-familias-nicaraguenses", "2026"},
	{"NI", "115", "fire", "https://tn8.tv/ultima-hora/279187-bomberos-unificados-atender-semana-santa", "2026"},
	{"CR", "911", "general", "Teletica, 2025-12-07 (shared/data/emergency_numbers.md)", "2025-12-07"},
	{"PA", "911", "general", "La Estrella, 2026-01-02 (shared/data/emergency_numbers.md)", "2026-01-02"},
	{"BZ", "911", "general", "http://www.paradisehunter.com/CountryInformation/Belize/Living-There/Emergency-Services", "2012-09-13 (weak)"},
	{"US", "911", "general", "FCC text-to-911 FAQ (shared/data/emergency_numbers.md)", "undated"},
	{"HT", "122", "police", "Vant Bèf Info, 2021-03-03 (shared/data/emergency_numbers.md)", "2021-03-03"},
}

// emergencyCountries are the countries with an "emergency.<country>" message.
func emergencyCountries() map[string]bool {
	m := map[string]bool{}
	for _, n := range emergencyNumbers {
		m[n.Country] = true
	}
	return m
}

// emergencyOutput lists the lines for the person's country and, along the route,
// Mexico's.
func emergencyOutput(country string) Output {
	if !emergencyCountries()[country] || country == "MX" {
		return Output{Text: Text{ID: "emergency.one", Refs: map[string]string{"Here": "emergency.MX"}}}
	}
	return Output{Text: Text{ID: "emergency.two", Refs: map[string]string{
		"Here": "emergency." + country, "Route": "emergency.MX"}}}
}
