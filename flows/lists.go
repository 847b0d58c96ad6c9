package flows

// JoinList joins the items of a list for people to read in a language, with
// its own word for "and" before the last ("Mamá, Tío Pedro y Rosa", "Manman,
// Roza ak Juan"): the message list.and. Every list of names, places or
// services shown to people goes through it (see joinList).
func JoinList(cat Catalog, lang string, items []string) string {
	return joinList(items, cat.Text(lang, "list.and", nil))
}
