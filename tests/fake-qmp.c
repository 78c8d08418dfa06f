/* fake-qmp.c — see fake-qmp.h. */
#include "config.h"

#include "fake-qmp.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct FakeQmp {
        char *path;
        FakeQmpMode mode;
        int lfd;
        GThread *thread;
        GMutex lock;
        GHashTable *answers;            /* command -> member text             */
        GPtrArray *received;
        guint sessions;
        gint stop;
};

static void
send_text (int fd, const char *text)
{
        gsize len = strlen (text);

        while (len > 0) {
                ssize_t n = send (fd, text, len, MSG_NOSIGNAL);

                if (n <= 0)
                        return;
                text += n;
                len -= (gsize) n;
        }
}

static void
serve (FakeQmp *f, int fd)
{
        g_autoptr(GString) in = g_string_new (NULL);
        g_autofree char *greeting = NULL;
        char buf[4096];
        ssize_t n;

        g_mutex_lock (&f->lock);
        greeting = g_strdup (g_hash_table_lookup (f->answers, "(greeting)"));
        g_mutex_unlock (&f->lock);
        if (f->mode == FAKE_QMP_QGA)
                send_text (fd, "{\"return\": \"an earlier client's\"}\n");
        else if (f->mode == FAKE_QMP_GARBAGE_GREETING)
                send_text (fd, "this is not json\r\n");
        else if (f->mode != FAKE_QMP_SILENT && greeting)
                send_text (fd, greeting);
        else if (f->mode != FAKE_QMP_SILENT)
                send_text (fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 8}}, "
                               "\"capabilities\": []}}\r\n");
        while ((n = read (fd, buf, sizeof buf)) > 0) {
                char *nl;

                g_string_append_len (in, buf, n);
                while ((nl = memchr (in->str, '\n', in->len))) {
                        g_autofree char *line = g_strndup (in->str, nl - in->str);
                        g_autoptr(JsonParser) p = json_parser_new ();
                        g_autofree char *reply = NULL;
                        const char *cmd = "?", *id = "", *member;
                        JsonObject *o = NULL;

                        g_string_erase (in, 0, nl - in->str + 1);
                        if (json_parser_load_from_data (p, line, -1, NULL) &&
                            JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p))) {
                                o = json_node_get_object (json_parser_get_root (p));
                                cmd = json_object_get_string_member_with_default (o, "execute", "?");
                                id = json_object_get_string_member_with_default (o, "id", "");
                                g_mutex_lock (&f->lock);
                                if (json_object_has_member (o, "arguments")) {
                                        g_autofree char *a = json_to_string (json_object_get_member (o, "arguments"),
                                                                             FALSE);

                                        g_ptr_array_add (f->received, g_strdup_printf ("%s %s", cmd, a));
                                } else {
                                        g_ptr_array_add (f->received, g_strdup (cmd));
                                }
                                g_mutex_unlock (&f->lock);
                        }
                        if (f->mode == FAKE_QMP_SILENT)
                                continue;
                        if (f->mode == FAKE_QMP_QGA && strcmp (cmd, "guest-sync-delimited") == 0) {
                                g_autofree char *sync = g_strdup_printf (
                                        "\xff{\"return\": %" G_GINT64_FORMAT "}\n",
                                        json_object_get_int_member (json_object_get_object_member (o, "arguments"),
                                                                    "id"));

                                send_text (fd, sync);
                                continue;
                        }
                        if (f->mode == FAKE_QMP_GARBAGE_REPLY && strcmp (cmd, "qmp_capabilities") != 0) {
                                send_text (fd, "{\"return\": garbage\r\n");
                                continue;
                        }
                        if (f->mode == FAKE_QMP_OVERSIZE && strcmp (cmd, "qmp_capabilities") != 0) {
                                g_autofree char *big = g_strnfill (1024 * 1024, 'x');

                                send_text (fd, "{\"return\": \"");
                                send_text (fd, big);
                                send_text (fd, "\"}\r\n");
                                continue;
                        }
                        if (f->mode == FAKE_QMP_EVENTS)
                                send_text (fd, "{\"event\": \"BALLOON_CHANGE\", \"data\": {\"actual\": 1}, "
                                               "\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n");
                        g_mutex_lock (&f->lock);
                        member = g_hash_table_lookup (f->answers, cmd);
                        reply = g_strdup_printf ("{\"id\": \"%s%s\", %s}\r\n", id,
                                                 f->mode == FAKE_QMP_WRONG_ID && strcmp (cmd, "qmp_capabilities")
                                                 ? "-other" : "",
                                                 member ? member : "\"return\": {}");
                        g_mutex_unlock (&f->lock);
                        send_text (fd, reply);
                }
        }
}

static gpointer
run (gpointer data)
{
        FakeQmp *f = data;

        while (!g_atomic_int_get (&f->stop)) {
                int fd = accept (f->lfd, NULL, NULL);

                if (fd < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                g_mutex_lock (&f->lock);
                f->sessions++;
                g_mutex_unlock (&f->lock);
                if (!g_atomic_int_get (&f->stop))
                        serve (f, fd);
                close (fd);
        }
        return NULL;
}

FakeQmp *
fake_qmp_new (const char *path, FakeQmpMode mode)
{
        FakeQmp *f = g_new0 (FakeQmp, 1);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        f->path = g_strdup (path);
        f->mode = mode;
        g_mutex_init (&f->lock);
        f->answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
        f->received = g_ptr_array_new_with_free_func (g_free);
        g_assert_cmpuint (strlen (path), <, sizeof sa.sun_path);
        strcpy (sa.sun_path, path);
        unlink (path);
        f->lfd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint (f->lfd, >=, 0);
        g_assert_cmpint (bind (f->lfd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
        g_assert_cmpint (listen (f->lfd, 1), ==, 0);
        f->thread = g_thread_new ("fake-qmp", run, f);
        return f;
}

void
fake_qmp_free (FakeQmp *f)
{
        if (!f)
                return;
        g_atomic_int_set (&f->stop, 1);
        shutdown (f->lfd, SHUT_RDWR);
        g_thread_join (f->thread);
        close (f->lfd);
        unlink (f->path);
        g_hash_table_unref (f->answers);
        g_ptr_array_unref (f->received);
        g_mutex_clear (&f->lock);
        g_free (f->path);
        g_free (f);
}

void
fake_qmp_answer (FakeQmp *f, const char *command, const char *member)
{
        g_mutex_lock (&f->lock);
        g_hash_table_replace (f->answers, g_strdup (command), g_strdup (member));
        g_mutex_unlock (&f->lock);
}

char **
fake_qmp_received (FakeQmp *f)
{
        GPtrArray *out = g_ptr_array_new ();

        g_mutex_lock (&f->lock);
        for (guint i = 0; i < f->received->len; i++)
                g_ptr_array_add (out, g_strdup (g_ptr_array_index (f->received, i)));
        g_mutex_unlock (&f->lock);
        g_ptr_array_add (out, NULL);
        return (char **) g_ptr_array_free (out, FALSE);
}

guint
fake_qmp_sessions (FakeQmp *f)
{
        guint n;

        g_mutex_lock (&f->lock);
        n = f->sessions;
        g_mutex_unlock (&f->lock);
        return n;
}
