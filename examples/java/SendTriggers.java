// Send triggers to flow-dispatcher ingest and read their status: Java 11+, JDK only.
//
//   INGEST_URL=http://127.0.0.1:8080 INGEST_TOKEN=... FLOW=Welcome_SMS \
//     java SendTriggers.java [--wait] INDIVIDUAL_ID...
//
// Each trigger gets an idempotency key (KEY_PREFIX-IndividualId), so resending the same request
// never stores a trigger twice. 429 (BACKLOG_FULL) and 503 (REDIS_UNAVAILABLE, WRITE_FAILED,
// SHUTTING_DOWN) are retried after Retry-After seconds with the same body, hence the same keys;
// other errors stop with their code. The contract is docs/openapi.json: a real client would use a
// JSON library or a client generated from it; this one reads the few fields it needs with
// regular expressions to stay dependency-free. Output lines as the Python example.
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class SendTriggers {
  static final String BASE = env("INGEST_URL", "http://127.0.0.1:8080").replaceAll("/+$", "");
  static final String TOKEN = env("INGEST_TOKEN", "");
  static final String FLOW = env("FLOW", "Welcome_SMS");
  static final String KEY_PREFIX = env("KEY_PREFIX", "example");
  static final int MAX_ATTEMPTS = Integer.parseInt(env("MAX_ATTEMPTS", "30"));
  static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? fallback : value;
  }

  static String field(String json, String name) {
    Matcher m = Pattern.compile("\"" + name + "\":\"([^\"]*)\"").matcher(json);
    return m.find() ? m.group(1) : "?";
  }

  /** Retries 429/503 after Retry-After (and an unreachable ingest after a backoff), same body. */
  static HttpResponse<String> send(String method, String path, String body)
      throws InterruptedException {
    for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(BASE + path))
              .timeout(Duration.ofSeconds(30))
              .header("authorization", "Bearer " + TOKEN);
      if (body == null) {
        request.GET();
      } else {
        request.header("content-type", "application/json");
        request.method(method, HttpRequest.BodyPublishers.ofString(body));
      }
      HttpResponse<String> response;
      try {
        response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
      } catch (IOException err) {
        long wait = Math.min(1L << attempt, 10);
        System.out.println("retry unreachable " + err.getClass().getSimpleName() + " after " + wait + "s");
        Thread.sleep(wait * 1000);
        continue;
      }
      int status = response.statusCode();
      if (status != 429 && status != 503) return response;
      long wait =
          Math.min(
              response.headers().firstValue("retry-after").map(Long::parseLong).orElse(1L), 30);
      System.out.println(
          "retry " + status + " " + field(response.body(), "code") + " after " + wait + "s");
      Thread.sleep(wait * 1000);
    }
    System.out.println("error giving up after " + MAX_ATTEMPTS + " attempts");
    System.exit(1);
    return null;
  }

  static void fail(HttpResponse<String> response) {
    System.out.println(
        "error " + response.statusCode() + " " + field(response.body(), "code") + ": "
            + field(response.body(), "message"));
    System.exit(1);
  }

  public static void main(String[] args) throws InterruptedException {
    boolean wait = false;
    List<String> people = new ArrayList<>();
    for (String arg : args) {
      if (arg.equals("--wait")) wait = true;
      else people.add(arg);
    }
    if (people.isEmpty() || TOKEN.isEmpty()) {
      System.err.println("usage: INGEST_TOKEN=... java SendTriggers.java [--wait] INDIVIDUAL_ID...");
      System.exit(2);
    }
    StringBuilder triggers = new StringBuilder();
    for (String person : people) {
      if (triggers.length() > 0) triggers.append(',');
      triggers.append("{\"input\":{\"IndividualId\":\"").append(person)
          .append("\"},\"key\":\"").append(KEY_PREFIX).append('-').append(person).append("\"}");
    }
    HttpResponse<String> answer =
        send("POST", "/v1/flows/" + FLOW + "/triggers", "{\"triggers\":[" + triggers + "]}");
    if (answer.statusCode() != 202) fail(answer);

    // {"accepted":[{"id":"…","key":"…","duplicate":false},…]}
    List<String> ids = new ArrayList<>();
    Matcher receipt =
        Pattern.compile("\\{\"id\":\"([^\"]*)\",\"key\":\"([^\"]*)\",\"duplicate\":(true|false)\\}")
            .matcher(answer.body());
    while (receipt.find()) {
      ids.add(receipt.group(1));
      System.out.println(
          "accepted " + receipt.group(1) + " key=" + receipt.group(2) + " duplicate="
              + receipt.group(3));
    }

    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    for (String id : ids) {
      String state;
      while (true) {
        HttpResponse<String> status = send("GET", "/v1/triggers/" + id, null);
        if (status.statusCode() != 200) fail(status);
        state = field(status.body(), "state");
        boolean done = state.equals("succeeded") || state.equals("dead");
        if (!wait || done || System.nanoTime() > deadline) break;
        Thread.sleep(500);
      }
      System.out.println("status " + id + " " + state);
    }
  }
}
