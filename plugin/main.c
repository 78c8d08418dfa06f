/* main.c — augurd: option parsing, config loading, signals, main loop.
 *
 * Precedence: compiled-in defaults < config file < command line.  The
 * command line is kept as given and re-applied after every SIGHUP reload,
 * so a reload never undoes an explicit option. */
#include "config.h"

#include "augur-config.h"
#include "daemon.h"
#include "util.h"

#include <glib-unix.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <locale.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
        char *uri;
        char *db;
        char *tick;
        char *mode;
        char *policy;
        char *model;
        char *socket;
        char *config;
        gboolean foreground;
        gboolean verbose;
        gboolean version;
} Options;

static Options opts;

static GOptionEntry entries[] = {
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &opts.uri, "libvirt URI (default " AUGUR_DEFAULT_URI ")", "URI" },
        { "db", 0, 0, G_OPTION_ARG_FILENAME, &opts.db, "history database (default " AUGUR_DEFAULT_DB ")", "PATH" },
        { "tick", 0, 0, G_OPTION_ARG_STRING, &opts.tick, "tick period in seconds, >= 0.5 (default 5)", "SECONDS" },
        { "mode", 0, 0, G_OPTION_ARG_STRING, &opts.mode, "auto|observe|recommend|act (default auto)", "MODE" },
        { "policy", 0, 0, G_OPTION_ARG_STRING, &opts.policy, "augur|reactive (default augur)", "POLICY" },
        { "model", 0, 0, G_OPTION_ARG_FILENAME, &opts.model, "model file (default: built-in)", "FILE" },
        { "socket", 0, 0, G_OPTION_ARG_FILENAME, &opts.socket, "local API socket (default " AUGUR_DEFAULT_SOCKET "; empty: no API)", "PATH" },
        { "config", 0, 0, G_OPTION_ARG_FILENAME, &opts.config, "config file (default " AUGUR_DEFAULT_CONFIG ")", "FILE" },
        { "foreground", 'f', 0, G_OPTION_ARG_NONE, &opts.foreground, "stay in the foreground", NULL },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opts.verbose, "debug logging", NULL },
        { "version", 'V', 0, G_OPTION_ARG_NONE, &opts.version, "print the version and exit", NULL },
        { NULL },
};

/* Apply the command line over c.  Errors name the option. */
static gboolean
apply_cmdline (AugurConfig *c, GError **error)
{
        if (opts.uri) {
                g_free (c->uri);
                c->uri = g_strdup (opts.uri);
        }
        if (opts.db) {
                g_free (c->db_path);
                c->db_path = g_strdup (opts.db);
        }
        if (opts.model) {
                g_free (c->model_path);
                c->model_path = g_strdup (opts.model);
        }
        if (opts.socket) {
                g_free (c->socket_path);
                c->socket_path = g_strdup (opts.socket);
        }
        if (opts.tick) {
                double t = 0;

                /* Decimal only: g_ascii_strtod alone reads "0x10" as 16. */
                if (!augur_parse_decimal (opts.tick, &t, NULL) || !(t >= 0.5 && t <= 3600)) {
                        g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_RANGE,
                                     "--tick %s: expected decimal seconds from 0.5 to 3600", opts.tick);
                        return FALSE;
                }
                c->tick_s = t;
        }
        if (opts.mode && !augur_mode_from_string (opts.mode, &c->mode)) {
                g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_RANGE,
                             "--mode %s: expected auto, observe, recommend or act", opts.mode);
                return FALSE;
        }
        if (opts.policy && !augur_policy_from_string (opts.policy, &c->policy)) {
                g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_RANGE,
                             "--policy %s: expected augur or reactive", opts.policy);
                return FALSE;
        }
        return augur_config_validate (c, "command line", error);
}

static const char *
config_path (gboolean *ret_missing_ok)
{
        const char *env = g_getenv ("AUGUR_CONFIG");

        *ret_missing_ok = FALSE;
        if (opts.config)
                return opts.config;
        if (env && *env)
                return env;
        *ret_missing_ok = TRUE;
        return AUGUR_DEFAULT_CONFIG;
}

static AugurConfig *
load_config (GError **error)
{
        g_autoptr(AugurConfig) defaults = augur_config_new_default ();
        g_autoptr(AugurConfig) c = NULL;
        gboolean missing_ok;
        const char *path = config_path (&missing_ok);

        c = augur_config_load (defaults, path, missing_ok, error);
        if (!c || !apply_cmdline (c, error))
                return NULL;
        return g_steal_pointer (&c);
}

/* libvirt prints every error to stderr by default; augurd reports the
 * ones it handles itself, once, through GLib logging. */
static void
quiet_libvirt_errors (void *opaque, virErrorPtr err)
{
}

/* Re-read the config file and re-apply the command line: SIGHUP and the
 * local API's "reload" call.  On failure the running config is kept. */
static gboolean
reload_config (AugurDaemon *d, GError **error)
{
        AugurConfig *c = load_config (error);

        if (!c)
                return FALSE;
        augur_daemon_apply_config (d, c);
        return TRUE;
}

static gboolean
on_sighup (gpointer user_data)
{
        g_autoptr(GError) error = NULL;

        if (!reload_config (user_data, &error))
                g_warning ("reload failed, keeping the running configuration: %s, ignoring",
                           error->message);
        return G_SOURCE_CONTINUE;
}

static gboolean
on_quit (gpointer user_data)
{
        AugurDaemon *d = user_data;

        g_message ("exiting on signal");
        g_main_loop_quit (d->loop);
        return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
        g_autoptr(GOptionContext) ctx = g_option_context_new ("- predictive resizing agent for QEMU/KVM guests");
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurDaemon) d = NULL;
        AugurConfig *config;

        setlocale (LC_ALL, "");
        g_option_context_add_main_entries (ctx, entries, NULL);
        if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
                g_printerr ("augurd: %s\n", error->message);
                return 2;
        }
        if (opts.version) {
                g_print ("augurd %s\n", PACKAGE_VERSION);
                return 0;
        }
        if (argc > 1) {
                g_printerr ("augurd: unexpected argument '%s'\n", argv[1]);
                return 2;
        }
        if (opts.verbose)
                g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);

        config = load_config (&error);
        if (!config) {
                g_printerr ("augurd: %s\n", error->message);
                return 2;
        }

        /* libvirt's default event loop runs on the GLib main context; it must
         * be registered before the first connection is opened. */
        virSetErrorFunc (NULL, quiet_libvirt_errors);
        if (virEventRegisterDefaultImpl () < 0) {
                g_printerr ("augurd: cannot register libvirt's event loop\n");
                augur_config_free (config);
                return 1;
        }
        if (!opts.foreground && daemon (0, 0) < 0) {
                g_printerr ("augurd: cannot detach: %s\n", g_strerror (errno));
                augur_config_free (config);
                return 1;
        }

        d = augur_daemon_new (config);
        d->reload = reload_config;
        g_unix_signal_add (SIGHUP, on_sighup, d);
        g_unix_signal_add (SIGTERM, on_quit, d);
        g_unix_signal_add (SIGINT, on_quit, d);
        if (!augur_daemon_start (d, &error)) {
                g_printerr ("augurd: %s\n", error->message);
                return 1;
        }
        g_message ("augurd %s watching %s every %.3g s, history in %s",
                   PACKAGE_VERSION, config->uri, config->tick_s, config->db_path);
        g_main_loop_run (d->loop);
        return d->exit_code;
}
