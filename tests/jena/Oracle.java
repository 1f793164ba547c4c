// Apache Jena ARQ as an independent SPARQL engine for cnkg's differential tests (tests/jena_oracle.py starts it).
//
// One JVM answers many requests on stdin, each a header line then that many bytes of UTF-8:
//   LOAD <n>\n<path of an N-Quads file>  the dataset: its named graphs, and as the default graph the file's own
//                                        default-graph quads when it has any (a dump of cnkg's store, whose default
//                                        graph is the current state: the union less superseded values), else the
//                                        set union of the named graphs
//   QUERY <n>\n<query text>              the answer: SPARQL JSON for SELECT and ASK, N-Triples for CONSTRUCT/DESCRIBE
// and writes to stdout "OK json <n>\n", "OK nt <n>\n" or "ERR <n>\n" followed by n bytes.
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.jena.graph.Triple;
import org.apache.jena.query.*;
import org.apache.jena.rdf.model.Model;
import org.apache.jena.riot.Lang;
import org.apache.jena.riot.RDFDataMgr;
import org.apache.jena.sparql.core.DatasetGraph;
import org.apache.jena.sparql.core.DatasetGraphFactory;
import org.apache.jena.sparql.core.Quad;

public class Oracle {
    public static void main(String[] args) throws Exception {
        DataInputStream in = new DataInputStream(new BufferedInputStream(System.in));
        OutputStream out = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out));
        DatasetGraph dsg = DatasetGraphFactory.create();
        while (true) {
            String header = readLine(in);
            if (header == null) return;
            String[] parts = header.split(" ");
            byte[] body = new byte[Integer.parseInt(parts[1])];
            in.readFully(body);
            String text = new String(body, StandardCharsets.UTF_8);
            try {
                if (parts[0].equals("LOAD")) {
                    dsg = load(text);
                    reply(out, "OK json", "{}".getBytes(StandardCharsets.UTF_8));
                } else {
                    answer(out, dsg, text);
                }
            } catch (Throwable e) {
                reply(out, "ERR", (e.getClass().getSimpleName() + ": " + e.getMessage()).getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    static DatasetGraph load(String path) {
        DatasetGraph dsg = DatasetGraphFactory.create();
        RDFDataMgr.read(dsg, path, Lang.NQUADS);
        List<Triple> named = new ArrayList<>();
        for (Iterator<Quad> it = dsg.find(); it.hasNext(); ) {
            Quad q = it.next();
            if (!q.isDefaultGraph()) named.add(q.asTriple());
        }
        if (dsg.getDefaultGraph().isEmpty()) {
            for (Triple t : named) dsg.getDefaultGraph().add(t);  // a graph is a set: the union
        }
        return dsg;
    }

    static void answer(OutputStream out, DatasetGraph dsg, String text) throws IOException {
        Query query = QueryFactory.create(text, Syntax.syntaxSPARQL_11);
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (QueryExecution qe = QueryExecution.dataset(DatasetFactory.wrap(dsg)).query(query)
                .timeout(60, TimeUnit.SECONDS).build()) {
            if (query.isSelectType()) {
                ResultSetFormatter.outputAsJSON(buffer, qe.execSelect());
            } else if (query.isAskType()) {
                ResultSetFormatter.outputAsJSON(buffer, qe.execAsk());
            } else {
                Model model = query.isConstructType() ? qe.execConstruct() : qe.execDescribe();
                RDFDataMgr.write(buffer, model, Lang.NTRIPLES);
                reply(out, "OK nt", buffer.toByteArray());
                return;
            }
        }
        reply(out, "OK json", buffer.toByteArray());
    }

    static void reply(OutputStream out, String status, byte[] body) throws IOException {
        out.write((status + " " + body.length + "\n").getBytes(StandardCharsets.UTF_8));
        out.write(body);
        out.flush();
    }

    static String readLine(DataInputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) != '\n') {
            if (c == -1) return line.length() == 0 ? null : line.toString();
            line.append((char) c);
        }
        return line.toString();
    }
}
