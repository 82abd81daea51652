package dev.couponpop.opensearch.knnguard;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.opensearch.action.ActionRequest;
import org.opensearch.action.admin.indices.create.CreateIndexRequest;
import org.opensearch.action.admin.indices.mapping.put.PutMappingRequest;
import org.opensearch.action.admin.indices.template.put.PutComposableIndexTemplateAction;
import org.opensearch.action.admin.indices.template.put.PutIndexTemplateRequest;
import org.opensearch.action.support.ActionFilter;
import org.opensearch.action.support.ActionFilterChain;
import org.opensearch.cluster.metadata.ComposableIndexTemplate;
import org.opensearch.cluster.metadata.Template;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.action.ActionResponse;
import org.opensearch.plugins.ActionPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.tasks.Task;

/**
 * Refuses mappings with a {@code knn_vector} field that would use a native
 * k-NN engine.
 *
 * <p>The local node runs the k-NN plugin without its JNI libraries, so only
 * the pure-Java {@code lucene} engine works; the first document written to a
 * {@code faiss} or {@code nmslib} field (and faiss is the default engine when a
 * mapping names none) raises an {@link UnsatisfiedLinkError} that stops the
 * whole node. Failing the mapping request instead turns that into an ordinary
 * 400 that names the field and the fix.
 */
public class KnnLuceneGuardPlugin extends Plugin implements ActionPlugin {

    @Override
    public List<ActionFilter> getActionFilters() {
        return List.of(new Guard());
    }

    /** Field paths of knn_vector fields in {@code mapping} that do not use the lucene engine. */
    static List<String> nonLuceneVectorFields(String mappingJson) {
        List<String> bad = new ArrayList<>();
        if (mappingJson == null || mappingJson.isBlank()) {
            return bad;
        }
        Map<String, Object> mapping = XContentHelper.convertToMap(JsonXContent.jsonXContent, mappingJson, false);
        walk("", mapping, bad);
        return bad;
    }

    private static void walk(String path, Map<?, ?> node, List<String> bad) {
        if ("knn_vector".equals(node.get("type"))) {
            Object method = node.get("method");
            boolean lucene = method instanceof Map && "lucene".equals(((Map<?, ?>) method).get("engine"));
            if (!lucene || node.containsKey("model_id")) {
                bad.add(path.isEmpty() ? "(root)" : path);
            }
            return;
        }
        for (Map.Entry<?, ?> e : node.entrySet()) {
            if (e.getValue() instanceof Map) {
                String key = String.valueOf(e.getKey());
                String child = "properties".equals(key) || "mappings".equals(key) || "_doc".equals(key)
                    ? path
                    : (path.isEmpty() ? key : path + "." + key);
                walk(child, (Map<?, ?>) e.getValue(), bad);
            }
        }
    }

    static String mappingOf(ActionRequest request) {
        if (request instanceof CreateIndexRequest) {
            return ((CreateIndexRequest) request).mappings();
        }
        if (request instanceof PutMappingRequest) {
            return ((PutMappingRequest) request).source();
        }
        if (request instanceof PutIndexTemplateRequest) {
            return ((PutIndexTemplateRequest) request).mappings();
        }
        if (request instanceof PutComposableIndexTemplateAction.Request) {
            ComposableIndexTemplate template = ((PutComposableIndexTemplateAction.Request) request).indexTemplate();
            Template t = template == null ? null : template.template();
            return t == null || t.mappings() == null ? null : t.mappings().string();
        }
        return null;
    }

    static final class Guard implements ActionFilter {
        @Override
        public int order() {
            return Integer.MIN_VALUE + 100;
        }

        @Override
        public <Request extends ActionRequest, Response extends ActionResponse> void apply(
            Task task, String action, Request request, ActionListener<Response> listener,
            ActionFilterChain<Request, Response> chain) {
            List<String> bad;
            try {
                bad = nonLuceneVectorFields(mappingOf(request));
            } catch (RuntimeException e) {
                // Not ours to judge: let OpenSearch report its own parse error.
                bad = List.of();
            }
            if (!bad.isEmpty()) {
                listener.onFailure(new IllegalArgumentException(
                    "knn_vector field(s) " + bad + " must set \"method\": {\"engine\": \"lucene\", ...}: this "
                        + "local node has no native k-NN libraries (faiss, nmslib; faiss is the default engine), "
                        + "and writing such a vector would stop the node"));
                return;
            }
            chain.proceed(task, action, request, listener);
        }
    }
}
