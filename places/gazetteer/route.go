package gazetteer

import "github.com/enlace-rfl/enlace/textmatch"

// route are the towns of the migration route from the Darién to the US
// border: shelter and transit hubs, named as GeoNames names them. When names
// compete, these weigh routeBoost times their population.
var route = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range [][3]string{
		// Panama, Costa Rica, Nicaragua
		{"David", "Chiriquí", "PA"}, {"Canoas", "Puntarenas", "CR"}, {"Los Chiles", "Alajuela", "CR"},
		{"San José", "San José", "CR"}, {"Managua", "Managua", "NI"}, {"Estelí", "Estelí", "NI"},
		// Honduras, El Salvador
		{"Danlí", "El Paraíso", "HN"}, {"Choluteca", "Choluteca", "HN"}, {"Tegucigalpa", "Francisco Morazán", "HN"},
		{"San Pedro Sula", "Cortés", "HN"}, {"Choloma", "Cortés", "HN"}, {"Omoa", "Cortés", "HN"},
		{"Nueva Ocotepeque", "Ocotepeque", "HN"}, {"San Salvador", "San Salvador", "SV"},
		// Guatemala
		{"Guatemala City", "Guatemala", "GT"}, {"Ciudad Tecún Umán", "San Marcos", "GT"}, {"Esquipulas", "Chiquimula", "GT"},
		{"Flores", "Petén", "GT"}, {"Quetzaltenango", "Quetzaltenango", "GT"}, {"Huehuetenango", "Huehuetenango", "GT"},
		// Mexico, south
		{"Tapachula", "Chiapas", "MX"}, {"Ciudad Hidalgo", "Chiapas", "MX"}, {"Tenosique", "Tabasco", "MX"},
		{"Palenque", "Chiapas", "MX"}, {"Salto de Agua", "Chiapas", "MX"}, {"Arriaga", "Chiapas", "MX"},
		{"Ciudad Ixtepec", "Oaxaca", "MX"}, {"Coatzacoalcos", "Veracruz", "MX"}, {"Oaxaca", "Oaxaca", "MX"},
		{"Villahermosa", "Tabasco", "MX"}, {"Comitán", "Chiapas", "MX"}, {"Tuxtla Gutiérrez", "Chiapas", "MX"},
		{"Orizaba", "Veracruz", "MX"}, {"Córdoba", "Veracruz", "MX"}, {"Veracruz", "Veracruz", "MX"},
		// Mexico, centre
		{"Puebla", "Puebla", "MX"}, {"Mexico City", "Mexico City", "MX"}, {"Santiago de Querétaro", "Querétaro", "MX"},
		{"Celaya", "Guanajuato", "MX"}, {"Irapuato", "Guanajuato", "MX"}, {"Guadalajara", "Jalisco", "MX"},
		{"San Luis Potosí", "San Luis Potosí", "MX"},
		// Mexico, north
		{"Saltillo", "Coahuila", "MX"}, {"Monterrey", "Nuevo León", "MX"}, {"Guadalupe", "Nuevo León", "MX"},
		{"Reynosa", "Tamaulipas", "MX"}, {"Heroica Matamoros", "Tamaulipas", "MX"}, {"Nuevo Laredo", "Tamaulipas", "MX"},
		{"Piedras Negras", "Coahuila", "MX"}, {"Ciudad Acuña", "Coahuila", "MX"}, {"Chihuahua", "Chihuahua", "MX"},
		{"Ciudad Juárez", "Chihuahua", "MX"}, {"Nogales", "Sonora", "MX"}, {"Agua Prieta", "Sonora", "MX"},
		{"Heroica Caborca", "Sonora", "MX"}, {"Hermosillo", "Sonora", "MX"}, {"Heroica Guaymas", "Sonora", "MX"},
		{"Mexicali", "Baja California", "MX"}, {"Tijuana", "Baja California", "MX"},
		{"San Luis Río Colorado", "Sonora", "MX"}, {"Altar", "Sonora", "MX"},
	} {
		m[routeKey(t[0], t[1], t[2])] = true
	}
	return m
}()

func routeKey(name, admin1, country string) string {
	return textmatch.Normalize(name) + "|" + textmatch.Normalize(admin1) + "|" + country
}

// aliases are names people use for a route town that GeoNames lists under
// another name (normalized typed name -> normalized GeoNames name).
var aliases = map[string]string{
	"paso canoas": "canoas", // the Costa Rican side of the Panama border crossing
}
