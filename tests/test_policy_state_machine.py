"""MonitoringPolicy, driven by random programs of adds and retires, agrees with a model."""

from aggregates_course import MonitoringPolicy
from aggregates_course.testing import policy_machine

TestMonitoringPolicyMachine = policy_machine(MonitoringPolicy).TestCase
