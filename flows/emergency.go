package flows

// emergencyNumber is one emergency line shown to people, with where it comes from.
// A number without a source is never shown: the text of message
// "emergency.<country>" may only contain numbers listed here (a test checks it).
type emergencyNumber struct {
	Country, Number, Service, Source, Seen string
}

// emergencyNumbers are the general emergency lines listed as safe to show in the
// project's research (shared/data/emergency_numbers.csv and .md), with the page
// each comes from and the date that page carries ("undated" when it shows none).
// Re-check each on an official site before release; the weakest are marked.
// Colombia, Venezuela, Cuba and Ecuador are in the research but not here: people
// with those SIMs get Mexico's 911, which is what works along the route.
var emergencyNumbers = []emergencyNumber{
	// The gob.mx page is undated; the date is that of the agreement it quotes.
	// El Informador, 2016-10-03, corroborates.
	{"MX", "911", "general", "https://www.gob.mx/policiafederal/articulos/088-911-responder-ante-cualquier-llamado?idiom=es ; http://www.informador.com.mx/mexico/2016/684934/6/el-911-entra-en-funciones-hoy-en-16-estados.htm", "undated page, DOF agreement 2015-12-02; 2016-10-03"},
	// Guatemala has no confirmed 911. CONRED's list (tn23, undated) gives PNC "110-120".
	{"GT", "110", "police", "https://emisorasunidas.com/nacional/2025/12/24/guia-de-numeros-de-emergencia-por-celebraciones-de-fin-de-ano/", "2025-12-24"},
	{"GT", "122", "fire", "https://emisorasunidas.com/nacional/2025/12/24/guia-de-numeros-de-emergencia-por-celebraciones-de-fin-de-ano/", "2025-12-24"},
	{"GT", "125", "red cross", "https://www.tn23.tv/conred-en-alerta-por-fiestas-de-navidad-y-ano-nuevo/ ; https://emisorasunidas.com/2019/04/17/emergencia-carretera-emisoras-unidas", "undated (CONRED list); 2019-04-17"},
	{"HN", "911", "general", "https://www.elheraldo.hn/elheraldoplus/factchecking/analisis/guia-emergencia-lluvias-honduras-inundaciones-octubre-2025-AG27740066", "2025-10-14"},
	{"SV", "911", "general", "https://croniosv.com/nacionales/vientos-acelerados-del-noreste-y-ambiente-caluroso/", "2025-02"},
	// Also diario.elmundo.sv (undated). Fire 913 (El Diario de Hoy, 2026) is not shown yet.
	{"SV", "132", "medical", "https://croniosv.com/nacionales/vientos-acelerados-del-noreste-y-ambiente-caluroso/", "2025-02"},
	// 118 also takes fire and pre-hospital calls. 128 is now the state "Cruz Blanca"
	// line (the Red Cross was dissolved in 2023) and is left out.
	{"NI", "118", "police", "https://www.el19digital.news/articulos/ver/173131--centro-de-emergencia-comandante-edmundo-perez-flores-contribuye-a-la-seguridad-y-tranquilidad-de-las-familias-nicaraguenses", "undated, inferred 2026 (cites full-year 2025 figures)"},
	{"NI", "115", "fire", "https://tn8.tv/ultima-hora/279187-bomberos-unificados-atender-semana-santa", "undated"},
	{"CR", "911", "general", "https://www.teletica.com/sucesos/llamada-falsa-que-alerto-de-un-nino-que-cayo-en-pozo-puso-a-correr-a-los-rescatistas_398416", "2025-12-07"},
	// SUME 911 is the medical system; a 2019 law makes 911 national, but in 2020 police
	// (104) and fire (103) lines were still in use. Confirm before release: if police
	// is still 104, show "Panama: 911, police 104".
	{"PA", "911", "general", "https://www.laestrella.com.pa/panama/nacional/ejecutivo-impulsara-ley-para-sancionar-abusos-al-sistema-de-emergencias-JH18791008", "2026-01-02"},
	// WEAK: an expat site (2012) and a blog (2013), no official source. Confirm
	// with an official Belizean source before release.
	{"BZ", "911", "general", "http://www.paradisehunter.com/CountryInformation/Belize/Living-There/Emergency-Services", "2012-09-13 (weak)"},
	{"US", "911", "general", "https://www.fcc.gov/consumers/guides/text-911-quick-facts-faqs", "undated"},
	// WEAKEST: launch reports only (Vant Bef Info; Haiti Tweets 2021-03-04), status in
	// 2025-26 not confirmed; Haiti has no 911. A short code dialled from a Haitian
	// SIM outside Haiti does not reach the PNH, so it is shown after Mexico's line,
	// labelled "only in Haiti". Confirm on an official PNH channel before release.
	{"HT", "122", "police", "https://vantbefinfo.com/haiti-securite-la-police-nationale-dhaiti-devoile-un-nouveau-numero-durgence/ ; https://haititweets.com/2021/03/04/122-contre-le-kidnapping-en-haiti", "2021-03-03; 2021-03-04"},
}

// emergencyCountries are the countries with an "emergency.<country>" message.
func emergencyCountries() map[string]bool {
	m := map[string]bool{}
	for _, n := range emergencyNumbers {
		m[n.Country] = true
	}
	return m
}

// emergencyOutput lists Mexico's line, which works along the route, and after it
// the lines of the person's (phone's) country, which the texts label as working
// only inside that country: home short codes do not work from abroad.
func emergencyOutput(country string) Output {
	if !emergencyCountries()[country] || country == "MX" {
		return Output{Text: Text{ID: "emergency.one", Refs: map[string]string{"Here": "emergency.MX"}}}
	}
	return Output{Text: Text{ID: "emergency.two", Refs: map[string]string{
		"Here": "emergency." + country, "Route": "emergency.MX"}}}
}
