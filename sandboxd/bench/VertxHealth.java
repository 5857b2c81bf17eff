import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

/**
 * Smallest Vert.x 5 daemon (core only, no vertx-web Router or BodyHandler, which a real sandboxd
 * would add): GET /health -> 200 JSON. A lower bound for a Vert.x sandboxd; for
 * bench/measure-start.sh only.
 */
public class VertxHealth {
  public static void main(String[] args) {
    Vertx vertx = Vertx.vertx();
    vertx.createHttpServer()
        .requestHandler(req -> req.response()
            .putHeader("Content-Type", "application/json")
            .end(new JsonObject().put("status", "ok").encode()))
        .listen(Integer.parseInt(args[0]), "127.0.0.1")
        .await();
  }
}
