from evaluator.scripted_user import STOP, Act, Say, ScriptedUserScript, UserAction


def test_states_the_task_then_stops_at_the_next_agent_message() -> None:
    script = ScriptedUserScript("  I want to cancel my order #W1.  ")
    assert script.next_move("agent_message") == Say("I want to cancel my order #W1.")
    assert script.next_move("agent_message") == Say(STOP)


def test_dual_control_user_performs_its_actions_before_stopping() -> None:
    actions = [UserAction("toggle_roaming", {}), UserAction("reboot_device", {})]
    script = ScriptedUserScript("my data is slow", actions)
    assert script.next_move("agent_message") == Say("my data is slow")
    assert script.next_move("agent_message") == Act(actions[0])
    assert script.next_move("tool_result") == Act(actions[1])
    move = script.next_move("tool_result")
    assert isinstance(move, Say)
    assert "toggle_roaming, reboot_device" in move.text
    assert STOP not in move.text
    assert script.pending_actions == 0
    assert script.next_move("agent_message") == Say(STOP)
