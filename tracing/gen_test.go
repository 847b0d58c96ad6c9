package tracing

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The generator writes realistic, deterministic cases: Mexican and Central
// American names (given names and the two surnames, drawn by frequency, so
// Hernández, García and José come up as often as they do in life) and Haitian
// names (Jean-, Marie- compounds, surnames that are also given names), written as
// people write them (accents dropped sometimes, one surname only sometimes).
// Relatives share surnames, so unrelated cases look alike the way real ones do.

// Roughly by frequency, most common first.
var (
	esMale = []string{"José", "Juan", "Luis", "Carlos", "Jesús", "Miguel", "Francisco", "Antonio",
		"Jorge", "Pedro", "Alejandro", "Manuel", "Ricardo", "Fernando", "Roberto", "Mario",
		"Javier", "Eduardo", "Daniel", "Rafael", "Sergio", "Arturo", "Óscar", "Raúl", "Guillermo",
		"Alberto", "Héctor", "Ramón", "Enrique", "Víctor", "David", "Salvador", "Ángel", "Pablo",
		"Ignacio", "Rubén", "Hugo", "Julio", "Gerardo", "Armando", "Andrés", "Santiago", "Gustavo",
		"Marco", "Wilmer", "Kevin", "Brayan", "Erick", "Nelson", "Edwin", "Elmer", "Byron", "Selvin"}
	esFemale = []string{"María", "Guadalupe", "Ana", "Rosa", "Juana", "Margarita", "Patricia",
		"Verónica", "Elizabeth", "Leticia", "Alejandra", "Gabriela", "Teresa", "Carmen", "Silvia",
		"Laura", "Claudia", "Martha", "Adriana", "Sandra", "Isabel", "Yolanda", "Araceli", "Lucía",
		"Dolores", "Sofía", "Fernanda", "Mónica", "Karla", "Daniela", "Lourdes", "Blanca", "Rocío",
		"Jessica", "Wendy", "Yesenia", "Glenda", "Dania", "Ingrid", "Marleny", "Dilcia", "Xiomara"}
	esSurnames = []string{"Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez",
		"Sánchez", "Ramírez", "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes", "Jiménez",
		"Torres", "Díaz", "Gutiérrez", "Ruiz", "Mendoza", "Aguilar", "Ortiz", "Moreno", "Castillo",
		"Romero", "Álvarez", "Méndez", "Chávez", "Rivera", "Juárez", "Ramos", "Domínguez", "Herrera",
		"Medina", "Castro", "Vargas", "Guzmán", "Velázquez", "Rojas", "Contreras", "Salazar", "Luna",
		"Ortega", "Santiago", "Guerrero", "Estrada", "Bautista", "Cortés", "Soto", "Alvarado",
		"Espinoza", "Lara", "Ávila", "Ríos", "Figueroa", "Fuentes", "Cabrera", "Campos", "Mejía",
		"Orellana", "Argueta", "Portillo", "Osorio", "Zelaya", "Funes", "Barahona", "Amaya",
		"Escobar", "Cáceres", "Villatoro", "Ochoa", "De la Cruz", "Del Cid", "Hernandes", "Peña"}
	htMale = []string{"Jean", "Jean-Baptiste", "Pierre", "Joseph", "Jean-Claude", "Jacques",
		"Wilson", "Marc", "Paul", "Louis", "Emmanuel", "Frantz", "Jean-Pierre", "Jean-Marc",
		"Michel", "Lucien", "Mackenson", "Kervens", "Jonas", "Jude", "Dieuseul", "Fritznel",
		"Wesner", "Ricardo", "Samuel", "Daniel", "Jean-Louis", "Stanley", "Peterson", "Wilner"}
	htFemale = []string{"Marie", "Rose", "Nadège", "Guerline", "Fabiola", "Wideline", "Esther",
		"Nathalie", "Sandra", "Marie-Claire", "Marie-Rose", "Lovely", "Mirlande", "Jeanne",
		"Roseline", "Daphnée", "Judith", "Magalie", "Kettly", "Sherline", "Medjine", "Fedna"}
	htSurnames = []string{"Pierre", "Joseph", "Jean", "Louis", "Charles", "Baptiste", "Jean-Louis",
		"François", "Saint-Fleur", "Désir", "Dorvil", "Alexis", "Augustin", "Étienne", "Paul",
		"Cadet", "Noël", "Michel", "Georges", "Jean-Pierre", "Toussaint", "Célestin", "Philippe",
		"Exantus", "Dorsainvil", "Métellus", "Innocent", "Thélusma", "Fils-Aimé", "Laguerre",
		"Beauvais", "Lubin", "Hyppolite", "Jean-Baptiste", "Pierre-Louis", "Saint-Louis"}
	towns = []Place{{Name: "Tapachula", Country: "MX"}, {Name: "Ciudad Juárez", Country: "MX"},
		{Name: "Tijuana", Country: "MX"}, {Name: "Reynosa", Country: "MX"}, {Name: "Matamoros", Country: "MX"},
		{Name: "Nuevo Laredo", Country: "MX"}, {Name: "Piedras Negras", Country: "MX"},
		{Name: "Ciudad de México", Country: "MX"}, {Name: "Monterrey", Country: "MX"},
		{Name: "Tenosique", Country: "MX"}, {Name: "Villahermosa", Country: "MX"},
		{Name: "Coatzacoalcos", Country: "MX"}, {Name: "Mexicali", Country: "MX"},
		{Name: "Necoclí", Country: "CO"}, {Name: "Bajo Chiquito", Country: "PA"},
		{Name: "San Vicente", Country: "PA"}, {Name: "Esquipulas", Country: "GT"},
		{Name: "Tecún Umán", Country: "GT"}, {Name: "Danlí", Country: "HN"},
		{Name: "Choloma", Country: "HN"}, {Name: "San Pedro Sula", Country: "HN"},
		{Name: "Managua", Country: "NI"}, {Name: "Paso Canoas", Country: "CR"},
		{Name: "Ciudad Hidalgo", Country: "MX"}, {Name: "Acayucan", Country: "MX"}}
	esNationalities = []string{"MX", "GT", "HN", "HN", "SV", "NI", "VE", "VE", "CU", "EC"}
)

// pick draws from a list ordered by frequency: rank r has weight 1/(r+3).
func pick(rng *rand.Rand, list []string) string {
	total := 0.0
	for r := range list {
		total += 1 / float64(r+3)
	}
	x := rng.Float64() * total
	for r := range list {
		x -= 1 / float64(r+3)
		if x <= 0 {
			return list[r]
		}
	}
	return list[len(list)-1]
}

// stripAccents writes a name the way many type it on a phone: without accents.
var stripAccents = strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u",
	"Á", "A", "É", "E", "Í", "I", "Ó", "O", "Ú", "U", "è", "e", "ë", "e", "ç", "c").Replace

type family struct {
	haitian  bool
	surnames [2]string
	nat      string
}

func newFamily(rng *rand.Rand) family {
	if rng.IntN(10) < 3 {
		return family{haitian: true, surnames: [2]string{pick(rng, htSurnames), ""}, nat: "HT"}
	}
	return family{surnames: [2]string{pick(rng, esSurnames), pick(rng, esSurnames)},
		nat: esNationalities[rng.IntN(len(esNationalities))]}
}

// person draws a member of the family.
func (f family) person(rng *rand.Rand) Person {
	p := Person{Nationality: f.nat, BirthYear: 1950 + rng.IntN(73)}
	male := rng.IntN(2) == 0
	p.Sex = SexFemale
	if male {
		p.Sex = SexMale
	}
	var given string
	switch {
	case f.haitian && male:
		given = pick(rng, htMale)
	case f.haitian:
		given = pick(rng, htFemale)
	case male:
		given = pick(rng, esMale)
		if rng.IntN(3) == 0 {
			given += " " + pick(rng, esMale)
		}
	default:
		given = pick(rng, esFemale)
		if rng.IntN(3) == 0 {
			given += " " + pick(rng, esFemale)
		}
	}
	name := given + " " + f.surnames[0]
	if f.surnames[1] != "" && rng.IntN(7) != 0 {
		name += " " + f.surnames[1]
	}
	if rng.IntN(3) == 0 {
		name = stripAccents(name)
	}
	if p.Sex == SexMale && strings.HasPrefix(given, "José") && rng.IntN(4) == 0 {
		p.OtherNames = []string{"Pepe"}
	}
	p.FullName = name
	return p
}

// genCase draws one case: an enquirer of a family looking for a relative of the
// same family (who shares a surname, as relatives do).
func genCase(rng *rand.Rand, id string) *Case {
	f := newFamily(rng)
	c := &Case{ID: id, Status: StatusNew, Consent: Consent{Tracing: rng.IntN(20) != 0}}
	c.Sought.Person = f.person(rng)
	if rng.IntN(10) < 6 {
		e := f
		if !f.haitian && rng.IntN(2) == 0 {
			// A spouse: another family's surnames.
			e = newFamily(rng)
			e.haitian, e.nat = false, f.nat
		}
		c.Enquirer = e.person(rng)
	}
	c.Sought.LastPlace = towns[rng.IntN(len(towns))]
	c.Sought.LastContact = Month{Year: 2024 + rng.IntN(3), Month: 1 + rng.IntN(12)}
	c.Sought.What = []Circumstance{SeparatedOnRoute, Detained, Deported, LostContact}[rng.IntN(4)]
	return c
}

// genCases draws n cases with IDs gen-000000…
func genCases(seed uint64, n int) []*Case {
	rng := rand.New(rand.NewPCG(seed, 12))
	out := make([]*Case, n)
	for i := range out {
		out[i] = genCase(rng, fmt.Sprintf("gen-%06d", i))
	}
	return out
}
