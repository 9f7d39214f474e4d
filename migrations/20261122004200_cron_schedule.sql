-- The pg_cron schedule: every job once a minute (pg_cron 1.4 has no sub-minute schedules). Jobs run
-- as the migration's role (postgres), each in its own transaction, so one failing job does not hold
-- back the others. Re-running this migration (or running it where the jobs exist) replaces them:
-- unschedule-if-exists, then schedule.
create extension if not exists pg_cron with schema pg_catalog;

do $$
declare
  v_job record;
begin
  for v_job in
    select * from (values
      ('switchboard-expire-leases', 'select private.expire_leases()'),
      ('switchboard-promote-scheduled', 'select private.promote_scheduled()'),
      ('switchboard-reengage-idle', 'select private.reengage_idle()'),
      ('switchboard-mark-dormant', 'select private.mark_dormant()'),
      ('switchboard-kick-dispatch', 'select private.kick_dispatch(''cron'')')
    ) as j (name, command)
  loop
    perform cron.unschedule(j.jobid) from cron.job j where j.jobname = v_job.name;
    perform cron.schedule(v_job.name, '* * * * *', v_job.command);
  end loop;
end;
$$;
