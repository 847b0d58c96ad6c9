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
	// Checked again 2026-12-03 (no official page found, only the press): 911 is
	// still SUME 911, the pre-hospital (medical) system: La Estrella, 2026-01-02,
	// and Panamá América, 2026 ("SUME, conocido popularmente como 911"). Law 70 of
	// 2019 makes 911 the single national line, but the unification was still
	// under way, with police 104, fire 103 and SINAPROC 335 in use (Panamá
	// América, after 2019-12), and the police still ask people to call 104 (Mi
	// Diario, undated). So police 104 is shown beside 911. Confirm both on
	// policia.gob.pa or minseg.gob.pa before release.
	{"PA", "911", "medical (SUME 911)", "https://www.laestrella.com.pa/panama/nacional/ejecutivo-impulsara-ley-para-sancionar-abusos-al-sistema-de-emergencias-JH18791008 ; https://www.panamaamerica.com.pa/sociedad/presentan-iniciativa-para-castigar-llamadas-falsas-al-911-1257298/amp", "2026-01-02; 2026"},
	{"PA", "104", "police", "https://www.panamaamerica.com.pa/sociedad/como-va-la-unificacion-de-las-lineas-de-emergencia-en-panama-1158034/amp ; https://www.midiario.com/policiales/tenia-orden-lo-atrapan-en-la-cabima-por-delito-contra-la-seguridad-colectiva", "undated (after 2019-12); undated"},
	// WEAK: an expat site (2012), a blog (2013, "911 or possibly 90") and a
	// visitors' page ("Police are generally reached via 911", undated); checked
	// again 2026-12-03, no official Belizean source found. Confirm with the
	// Belize Police Department or NEMO before release.
	{"BZ", "911", "general", "http://www.paradisehunter.com/CountryInformation/Belize/Living-There/Emergency-Services ; http://www.belize-elections.org/preparing-for-emergencies-in-belize/", "2012-09-13 (weak); undated (weak)"},
	{"US", "911", "general", "https://www.fcc.gov/consumers/guides/text-911-quick-facts-faqs", "undated"},
	// WEAKEST: launch reports only (Vant Bef Info; Haiti Tweets 2021-03-04), status in
	// 2025-26 not confirmed (checked again 2026-12-03: no PNH page found; the
	// launch reports say the older lines 3838-1111 and 3839-1111 stay in use);
	// Haiti has no 911. A short code dialled from a Haitian
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
