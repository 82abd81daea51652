package search

// MappingVersion changes whenever indexBody changes in a way that needs a
// reindex. The indexer compares it with the live index's _meta at start and
// rebuilds when they differ.
const MappingVersion = 3

// Korean selects the analyzer chain for Korean text.
type Korean string

// The Korean analyzers. Nori is what ships; CJKBigram is kept for the
// side-by-side relevance numbers (docs/SEARCH.md) and as the fallback for a
// cluster without Nori.
const (
	// Nori is Lucene's Korean morphological analyzer: "조용한 카페에서" →
	// 조용, 카페. Particles and endings are dropped by part of speech.
	Nori Korean = "nori"
	// CJKBigram indexes overlapping two-syllable pairs: "조용한 카페에서" →
	// 조용, 용한, 카페, 페에, 에서. No dictionary, so no morphology either.
	CJKBigram Korean = "cjk_bigram"
)

// userDictionary teaches Nori words its dictionary splits badly in this
// domain ("가성비" came out as 성비, "스타벅스" as 스타 + 벅스). Inline rules,
// because a dictionary file would have to be installed on every node of the
// managed cluster.
var userDictionary = []string{
	"가성비", "스타벅스", "아메리카노", "브런치", "루프탑", "혼밥", "혼술",
	"떡볶이", "마라탕", "닭갈비", "삼겹살", "오마카세", "비건", "콘센트",
}

// indexBody is the create-index request: settings with the analyzers, and the
// mapping. meta lands in the index's _meta (mapping version, embedder name).
func indexBody(ko Korean, float32 bool, meta map[string]any) map[string]any {
	var korean map[string]any
	tokenizers := map[string]any{}
	if ko == CJKBigram {
		korean = map[string]any{
			"type":      "custom",
			"tokenizer": "standard",
			"filter":    []string{"cjk_width", "lowercase", "cjk_bigram"},
		}
	} else {
		tokenizers["ko_tokenizer"] = map[string]any{
			"type": "nori_tokenizer",
			// mixed keeps the compound and its parts (홍대입구역 → 홍대입구역,
			// 홍대, 입구, 역), so both "홍대입구역" and "홍대" match it.
			"decompound_mode":       "mixed",
			"discard_punctuation":   true,
			"user_dictionary_rules": userDictionary,
		}
		korean = map[string]any{
			"type":      "custom",
			"tokenizer": "ko_tokenizer",
			// nori_part_of_speech drops particles and endings (은, 에서, 하);
			// nori_readingform turns hanja into hangul; lowercase is for the
			// Latin words mixed into Korean text ("Starbucks 강남점").
			"filter": []string{"nori_part_of_speech", "nori_readingform", "lowercase"},
		}
	}
	return map[string]any{
		"settings": map[string]any{
			"index": map[string]any{
				"knn":                true,
				"number_of_shards":   1,
				"number_of_replicas": 0,
				// The sync wants changes visible within 2 s of the commit;
				// a 500 ms refresh leaves room for the queue and embedding.
				"refresh_interval": "500ms",
			},
			"analysis": map[string]any{
				"tokenizer": tokenizers,
				"filter": map[string]any{
					"autocomplete_edge": map[string]any{"type": "edge_ngram", "min_gram": 1, "max_gram": 20},
				},
				"analyzer": map[string]any{
					"korean": korean,
					// Prefixes of every word of a name, for autocomplete:
					// "스타벅스 강남역점" is found by 스, 스타, …, 강남.
					"autocomplete": map[string]any{
						"type":      "custom",
						"tokenizer": "standard",
						"filter":    []string{"cjk_width", "lowercase", "autocomplete_edge"},
					},
					"autocomplete_search": map[string]any{
						"type":      "custom",
						"tokenizer": "standard",
						"filter":    []string{"cjk_width", "lowercase"},
					},
				},
			},
		},
		"mappings": map[string]any{
			"dynamic": "strict",
			"_meta":   meta,
			// The vector is 1.5 KB of floats per store that no response
			// needs: keep it out of _source (reindexing reads PostgreSQL,
			// not the old index).
			"_source": map[string]any{"excludes": []string{"embedding"}},
			"properties": map[string]any{
				// Searches fetch only this, from doc values (see
				// Service.msearch).
				"store_id": map[string]any{"type": "long"},
				"name": textField(map[string]any{
					"kw": map[string]any{"type": "keyword", "ignore_above": 256},
					"ac": map[string]any{"type": "text", "analyzer": "autocomplete", "search_analyzer": "autocomplete_search"},
				}),
				"category":      map[string]any{"type": "keyword"},
				"category_text": textField(nil),
				"description":   textField(nil),
				"address":       textField(nil),
				"event_text":    textField(nil),
				"location":      map[string]any{"type": "geo_point"},
				"embedding": map[string]any{
					"type":      "knn_vector",
					"dimension": Dims,
					// The lucene engine: pure Java, so it runs on the local
					// node (which has no native k-NN libraries) exactly as on
					// the managed cluster.
					"method": map[string]any{
						"name":       "hnsw",
						"engine":     "lucene",
						"space_type": "cosinesimil",
						"parameters": hnswParameters(float32),
					},
				},
				"has_embedding": map[string]any{"type": "boolean"},
			},
		},
	}
}

// hnswParameters: m 16 and ef_construction 128 are Lucene's defaults made
// explicit. The sq encoder quantizes the vectors the graph searches to
// int8 (Lucene keeps the floats on disk for merges): a quarter of the
// memory and of the bytes each distance reads, which took the node's CPU
// per kNN search from 1.8 to 1.4 ms at 100,000 stores, for no measurable
// relevance (hybrid nDCG@10 0.763 against 0.768; kNN 0.542 against 0.536).
func hnswParameters(float32 bool) map[string]any {
	p := map[string]any{"m": 16, "ef_construction": 128}
	if !float32 {
		p["encoder"] = map[string]any{"name": "sq"}
	}
	return p
}

// textField is a text field analyzed for Korean, with an English sub-field
// (stemming, stop words) for the English words in it. extra adds sub-fields.
func textField(extra map[string]any) map[string]any {
	fields := map[string]any{
		"en": map[string]any{"type": "text", "analyzer": "english"},
	}
	for k, v := range extra {
		fields[k] = v
	}
	return map[string]any{"type": "text", "analyzer": "korean", "fields": fields}
}
