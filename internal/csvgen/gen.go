// Package csvgen writes deterministic contact CSV files for benchmarks
// and tests: valid phones from several countries, names with accents, tags
// and two custom fields.
package csvgen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Fields are the custom fields the generated file uses; define them before
// importing it.
var Fields = []struct{ Key, Label, Type, Options string }{
	{"plan", "Plan", "list", `["oro","plata","bronce"]`},
	{"puntos", "Puntos", "number", ""},
}

// Regions the phones come from, with how each is written: national format
// for the workspace's default region (MX), international for the rest.
var Regions = []string{"MX", "PE", "CO", "AR", "IN", "US", "BR", "ES"}

var (
	firstNames = []string{"José", "María", "Ana", "Luis", "Sofía", "Mateo", "Valentina", "Camila", "Priya", "Arjun", "Ñusta", "Zoë", "Andrés", "Lucía"}
	lastNames  = []string{"Pérez", "García", "Rodríguez", "López", "Quispe", "Mamani", "Sharma", "Patel", "Gómez", "Fernández", "Núñez", "O'Brien"}
	tags       = []string{"vip", "lima", "cdmx", "mayorista", "newsletter", "black-friday", "bogotá", "delhi"}
	plans      = []string{"oro", "plata", "bronce"}
)

// Header is the generated file's header row.
const Header = "phone,first_name,last_name,email,country,tags,field:plan,field:puntos"

// Write writes a header and n rows to w; the same n and seed give the same
// bytes. Every phone is distinct and valid for its region.
func Write(w io.Writer, n int, seed uint64) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	bases := make([]string, len(Regions))
	for i, r := range Regions {
		ex := phonenumbers.GetExampleNumberForType(r, phonenumbers.MOBILE)
		bases[i] = fmt.Sprint(ex.GetNationalNumber())
	}
	bw.WriteString(Header + "\r\n")
	for i := 0; i < n; i++ {
		ri := i % len(Regions)
		region, base := Regions[ri], bases[ri]
		// The last six digits carry the row number: distinct per region.
		nsn := base[:len(base)-6] + fmt.Sprintf("%06d", (i/len(Regions))%1000000)
		phone := "+" + fmt.Sprint(phonenumbers.GetCountryCodeForRegion(region)) + " " + nsn
		if region == "MX" {
			phone = nsn[:2] + " " + nsn[2:6] + " " + nsn[6:]
		}
		first := firstNames[rng.IntN(len(firstNames))]
		last := lastNames[rng.IntN(len(lastNames))]
		var tg []string
		for k := rng.IntN(4); k > 0; k-- {
			if t := tags[rng.IntN(len(tags))]; !contains(tg, t) {
				tg = append(tg, t)
			}
		}
		email := fmt.Sprintf("%s.%d@example.com", strings.ToLower(ascii(first)), i)
		fmt.Fprintf(bw, "%s,%s,%s,%s,%s,%s,%s,%d\r\n", phone, first, quote(last), email, region,
			quote(strings.Join(tg, ", ")), plans[rng.IntN(len(plans))], rng.IntN(5000))
	}
	return bw.Flush()
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

func quote(s string) string {
	if strings.ContainsAny(s, ",\"'\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func ascii(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case 'á', 'Á':
			return 'a'
		case 'é', 'É':
			return 'e'
		case 'í', 'Í':
			return 'i'
		case 'ó', 'Ó':
			return 'o'
		case 'ú', 'Ú':
			return 'u'
		case 'ñ', 'Ñ':
			return 'n'
		case 'ë':
			return 'e'
		}
		return r
	}, s)
}
