package dev.couponpop.opensearch.nori;

import java.io.IOException;
import java.io.StringReader;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.ko.KoreanAnalyzer;
import org.apache.lucene.analysis.ko.KoreanNumberFilter;
import org.apache.lucene.analysis.ko.KoreanPartOfSpeechStopFilter;
import org.apache.lucene.analysis.ko.KoreanReadingFormFilter;
import org.apache.lucene.analysis.ko.KoreanTokenizer;
import org.apache.lucene.analysis.ko.KoreanTokenizer.DecompoundMode;
import org.apache.lucene.analysis.ko.POS;
import org.apache.lucene.analysis.ko.dict.UserDictionary;
import org.apache.lucene.util.AttributeFactory;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.IndexSettings;
import org.opensearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.opensearch.index.analysis.AbstractTokenFilterFactory;
import org.opensearch.index.analysis.AbstractTokenizerFactory;
import org.opensearch.index.analysis.AnalyzerProvider;
import org.opensearch.index.analysis.TokenFilterFactory;
import org.opensearch.index.analysis.TokenizerFactory;
import org.opensearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.opensearch.plugins.AnalysisPlugin;
import org.opensearch.plugins.Plugin;

/**
 * Korean morphological analysis for the local search node.
 *
 * <p>Registers Lucene's Korean analysis components under the names the
 * OpenSearch documentation uses for Nori, so index mappings written for a
 * managed cluster with the official plugin work unchanged here.
 *
 * <p>Settings understood:
 * <ul>
 *   <li>{@code nori_tokenizer}: {@code decompound_mode} (none, discard, mixed;
 *       default discard), {@code discard_punctuation} (default true),
 *       {@code user_dictionary_rules} (list of "word" or "compound part part"
 *       lines).</li>
 *   <li>{@code nori_part_of_speech}: {@code stoptags} (list of POS tags).</li>
 *   <li>{@code nori} analyzer: the tokenizer settings plus {@code stoptags}.</li>
 * </ul>
 */
public class NoriAnalysisPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        Map<String, AnalysisProvider<TokenizerFactory>> tokenizers = new HashMap<>();
        tokenizers.put("nori_tokenizer", NoriTokenizerFactory::new);
        return tokenizers;
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        Map<String, AnalysisProvider<TokenFilterFactory>> filters = new HashMap<>();
        filters.put("nori_part_of_speech", PartOfSpeechFilterFactory::new);
        filters.put("nori_readingform", (indexSettings, env, name, settings) -> new SimpleFilterFactory(
            indexSettings, name, settings, KoreanReadingFormFilter::new));
        filters.put("nori_number", (indexSettings, env, name, settings) -> new SimpleFilterFactory(
            indexSettings, name, settings, KoreanNumberFilter::new));
        return filters;
    }

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> analyzers = new HashMap<>();
        analyzers.put("nori", NoriAnalyzerProvider::new);
        return analyzers;
    }

    static DecompoundMode decompoundMode(Settings settings) {
        String mode = settings.get("decompound_mode");
        if (mode == null || mode.isEmpty()) {
            return KoreanTokenizer.DEFAULT_DECOMPOUND;
        }
        try {
            return DecompoundMode.valueOf(mode.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                "decompound_mode must be one of none, discard, mixed; got [" + mode + "]", e);
        }
    }

    static UserDictionary userDictionary(Settings settings) {
        List<String> rules = settings.getAsList("user_dictionary_rules", List.of());
        if (rules.isEmpty()) {
            return null;
        }
        try {
            return UserDictionary.open(new StringReader(String.join("\n", rules)));
        } catch (IOException e) {
            throw new IllegalArgumentException("invalid user_dictionary_rules: " + e.getMessage(), e);
        }
    }

    static Set<POS.Tag> stopTags(Settings settings) {
        List<String> tags = settings.getAsList("stoptags", null);
        if (tags == null) {
            return KoreanPartOfSpeechStopFilter.DEFAULT_STOP_TAGS;
        }
        Set<POS.Tag> set = EnumSet.noneOf(POS.Tag.class);
        for (String tag : tags) {
            try {
                set.add(POS.Tag.valueOf(tag.trim().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown part-of-speech tag [" + tag + "]", e);
            }
        }
        return set;
    }

    /** {@code nori_tokenizer}. */
    static final class NoriTokenizerFactory extends AbstractTokenizerFactory {
        private final DecompoundMode mode;
        private final boolean discardPunctuation;
        private final UserDictionary userDictionary;

        NoriTokenizerFactory(IndexSettings indexSettings, Environment env, String name, Settings settings) {
            super(indexSettings, settings, name);
            this.mode = decompoundMode(settings);
            this.discardPunctuation = settings.getAsBoolean("discard_punctuation", true);
            this.userDictionary = userDictionary(settings);
        }

        @Override
        public Tokenizer create() {
            return new KoreanTokenizer(
                AttributeFactory.DEFAULT_ATTRIBUTE_FACTORY, userDictionary, mode, false, discardPunctuation);
        }
    }

    /** {@code nori_part_of_speech}: drops tokens whose part of speech is a stop tag. */
    static final class PartOfSpeechFilterFactory extends AbstractTokenFilterFactory {
        private final Set<POS.Tag> stopTags;

        PartOfSpeechFilterFactory(IndexSettings indexSettings, Environment env, String name, Settings settings) {
            super(indexSettings, name, settings);
            this.stopTags = stopTags(settings);
        }

        @Override
        public TokenStream create(TokenStream in) {
            return new KoreanPartOfSpeechStopFilter(in, stopTags);
        }
    }

    /** A filter with no settings. */
    static final class SimpleFilterFactory extends AbstractTokenFilterFactory {
        private final java.util.function.Function<TokenStream, TokenStream> filter;

        SimpleFilterFactory(IndexSettings indexSettings, String name, Settings settings,
                            java.util.function.Function<TokenStream, TokenStream> filter) {
            super(indexSettings, name, settings);
            this.filter = filter;
        }

        @Override
        public TokenStream create(TokenStream in) {
            return filter.apply(in);
        }
    }

    /** {@code nori}: tokenizer, part-of-speech stop filter, reading form, lower case. */
    static final class NoriAnalyzerProvider extends AbstractIndexAnalyzerProvider<KoreanAnalyzer> {
        private final KoreanAnalyzer analyzer;

        NoriAnalyzerProvider(IndexSettings indexSettings, Environment env, String name, Settings settings) {
            super(indexSettings, name, settings);
            this.analyzer = new KoreanAnalyzer(
                userDictionary(settings), decompoundMode(settings), stopTags(settings), false);
        }

        @Override
        public KoreanAnalyzer get() {
            return analyzer;
        }
    }
}
