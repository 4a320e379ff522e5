/* execstate — where planning reads the state from when no executor service
 * is named: the executor's configuration decides (docs/state.md), so
 * `moksha-exec state where` is asked; on any backend but the local files
 * the state and the observations are its `state pull`, never a database
 * the compiler opens. What the executor said is what the plan is bound to
 * (its "backend" object). Without an executor to ask, the local files, as
 * ever. */
#ifndef MK_EXECSTATE_H
#define MK_EXECSTATE_H

#include <stdbool.h>

struct mk_pipeline_req;
struct mk_submit_inputs;

/* What planning reads: with MOKSHA_EXEC_SOCKET the service's state and
 * observations (mk_submit_plan_inputs); else the executor asked, r's
 * backend binding filled (when not local without an environment) and, off
 * local, r's state and observations (in owns their bytes and names, as
 * mk_submit_plan_inputs does). False (said: the executor's or the
 * service's own words on stderr) when either refuses: nothing may be
 * planned against a guess of the state. */
bool mk_execstate_inputs(struct mk_pipeline_req *r, struct mk_submit_inputs *in);

#endif
