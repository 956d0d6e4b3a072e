package demo

// Where the demo's contacts live: countries with their weight in the
// workspace, cities with time zones and phone prefixes, and the names people
// there are likely to have.

type city struct {
	name string
	tz   string
	// National number prefixes (after the country code) and how many random
	// digits follow; the result is checked with phonenumbers.
	prefixes []string
	digits   int
}

type country struct {
	code     string
	weight   int
	cities   []city
	names    *names
	language string
}

type names struct {
	first, last []string
}

var spanish = &names{
	first: []string{"Ana", "Lucía", "María José", "Valentina", "Camila", "Sofía", "Daniela", "Fernanda", "Gabriela", "Isabel",
		"Jimena", "Paula", "Renata", "Ximena", "Carmen", "Rosa", "Patricia", "Mariana", "Florencia", "Catalina",
		"José", "Juan Carlos", "Luis", "Carlos", "Miguel Ángel", "Diego", "Santiago", "Mateo", "Alejandro", "Javier",
		"Andrés", "Felipe", "Ricardo", "Jorge", "Emilio", "Sebastián", "Tomás", "Rodrigo", "Héctor", "Raúl"},
	last: []string{"García", "Rodríguez", "Martínez", "López", "Hernández", "González", "Pérez", "Sánchez", "Ramírez", "Torres",
		"Flores", "Rivera", "Gómez", "Díaz", "Cruz", "Morales", "Reyes", "Ortiz", "Gutiérrez", "Chávez",
		"Quispe", "Mamani", "Huamán", "Vargas", "Castillo", "Rojas", "Mendoza", "Salazar", "Fernández", "Romero",
		"Álvarez", "Muñoz", "Herrera", "Medina", "Aguilar", "Vega", "Navarro", "Cárdenas", "Ibáñez", "Zúñiga"},
}

var english = &names{
	first: []string{"Emily", "Olivia", "Emma", "Ava", "Madison", "Hannah", "Grace", "Chloe", "Abigail", "Sarah",
		"Megan", "Rachel", "Lauren", "Jessica", "Ashley", "James", "John", "Michael", "David", "Daniel",
		"Matthew", "Andrew", "Joshua", "Ryan", "Tyler", "Brandon", "Kevin", "Justin", "Robert", "William"},
	last: []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
		"Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
		"Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams"},
}

var indian = &names{
	first: []string{"Aarav", "Vivaan", "Aditya", "Arjun", "Rohan", "Rahul", "Vikram", "Karan", "Sanjay", "Amit",
		"Priya", "Ananya", "Diya", "Isha", "Kavya", "Neha", "Pooja", "Riya", "Sneha", "Meera"},
	last: []string{"Sharma", "Verma", "Gupta", "Patel", "Singh", "Kumar", "Reddy", "Iyer", "Nair", "Mehta",
		"Joshi", "Rao", "Das", "Chopra", "Banerjee", "Kapoor", "Malhotra", "Pillai", "Desai", "Shah"},
}

var countries = []country{
	{code: "MX", weight: 30, names: spanish, language: "es", cities: []city{
		{"Ciudad de México", "America/Mexico_City", []string{"55", "56"}, 8},
		{"Guadalajara", "America/Mexico_City", []string{"33"}, 8},
		{"Monterrey", "America/Monterrey", []string{"81"}, 8},
		{"Puebla", "America/Mexico_City", []string{"222"}, 7},
	}},
	{code: "PE", weight: 20, names: spanish, language: "es", cities: []city{
		{"Lima", "America/Lima", []string{"9"}, 8},
		{"Arequipa", "America/Lima", []string{"9"}, 8},
		{"Cusco", "America/Lima", []string{"9"}, 8},
		{"Trujillo", "America/Lima", []string{"9"}, 8},
	}},
	{code: "CO", weight: 12, names: spanish, language: "es", cities: []city{
		{"Bogotá", "America/Bogota", []string{"300", "310", "320"}, 7},
		{"Medellín", "America/Bogota", []string{"301", "311", "315"}, 7},
		{"Cali", "America/Bogota", []string{"316", "317"}, 7},
	}},
	{code: "AR", weight: 10, names: spanish, language: "es", cities: []city{
		{"Buenos Aires", "America/Argentina/Buenos_Aires", []string{"911"}, 8},
		{"Córdoba", "America/Argentina/Cordoba", []string{"9351"}, 7},
		{"Rosario", "America/Argentina/Buenos_Aires", []string{"9341"}, 7},
	}},
	{code: "CL", weight: 8, names: spanish, language: "es", cities: []city{
		{"Santiago", "America/Santiago", []string{"9"}, 8},
		{"Valparaíso", "America/Santiago", []string{"9"}, 8},
		{"Concepción", "America/Santiago", []string{"9"}, 8},
	}},
	{code: "IN", weight: 10, names: indian, language: "en", cities: []city{
		{"Mumbai", "Asia/Kolkata", []string{"98", "99", "97"}, 8},
		{"Bengaluru", "Asia/Kolkata", []string{"96", "95", "90"}, 8},
		{"Delhi", "Asia/Kolkata", []string{"98", "88", "70"}, 8},
	}},
	{code: "US", weight: 10, names: english, language: "en", cities: []city{
		{"New York", "America/New_York", []string{"212", "646", "917"}, 7},
		{"Miami", "America/New_York", []string{"305", "786"}, 7},
		{"Houston", "America/Chicago", []string{"713", "832"}, 7},
		{"Chicago", "America/Chicago", []string{"312", "773"}, 7},
		{"Los Angeles", "America/Los_Angeles", []string{"213", "310", "323"}, 7},
	}},
}

// cityOptions lists every city, the options of the "city" list field.
func cityOptions() []string {
	var out []string
	for _, c := range countries {
		for _, ct := range c.cities {
			out = append(out, ct.name)
		}
	}
	return out
}

// Consent evidence the demo records, as a business would word it.
var optInSources = []string{
	"Formulario web /registro",
	"Respuesta ALTA por WhatsApp",
	"Mostrador tienda Miraflores (firma en papel)",
	"Checkout de la tienda online",
}

const (
	optInWording  = "Acepto recibir ofertas y novedades de Tienda Demo por WhatsApp. Puedo darme de baja respondiendo BAJA."
	optOutSource  = "Respuesta BAJA por WhatsApp"
	optOutWording = "BAJA"
)

// Tags and how often a contact carries them (percent).
var tagOdds = []struct {
	tag string
	pct int
}{
	{"newsletter", 40}, {"nuevo", 20}, {"mayorista", 12}, {"vip", 10}, {"cliente frecuente", 18}, {"black friday", 15},
}
